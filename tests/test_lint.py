"""ruff keeps the code in one style: imports, unused names, modern syntax (``ruff check``) and the layout
(``ruff format``)."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
RUFF = pathlib.Path(sys.executable).with_name("ruff")
PATHS = ["foerdercall", "workflows", "worker", "forms", "tests", "scripts", "bench", "migrations"]


def test_ruff_finds_nothing():
    result = subprocess.run(
        [str(RUFF), "check", "--output-format", "concise", *PATHS], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted():
    result = subprocess.run(
        [str(RUFF), "format", "--check", *PATHS], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, "run `ruff format .`:\n" + result.stdout + result.stderr
