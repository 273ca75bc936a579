"""The layers of CONTRIBUTING.md hold: the import contracts of pyproject.toml (import-linter), no module imports
another in a circle, and an import inside a function says why it is not at the top."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys
import tomllib

import grimp

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("foerdercall", "workflows", "forms", "worker")


def test_the_import_contracts_hold():
    lint = pathlib.Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_no_module_imports_another_in_a_circle():
    """Imports inside functions count too: they only hide a circle from the interpreter."""
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    cycles = _cycles(graph)
    assert not cycles, "modules that import each other (directly or through others):\n" + "\n".join(
        ", ".join(c) for c in cycles
    )


def _function_imports_without_reason(path: pathlib.Path) -> list[str]:
    lines = path.read_text().splitlines()
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, True)
            elif isinstance(child, (ast.Import, ast.ImportFrom)) and in_function:
                here = lines[child.lineno - 1]
                above = lines[child.lineno - 2].strip() if child.lineno > 1 else ""
                if (
                    "#" not in here
                    and not above.startswith("#")
                    and not _in_commented_block(lines, child.lineno)
                ):
                    found.append(f"{path.relative_to(ROOT)}:{child.lineno}: {here.strip()}")
            else:
                visit(child, in_function)

    visit(ast.parse("\n".join(lines)), False)
    return found


def _in_commented_block(lines: list[str], lineno: int) -> bool:
    """The import is one of a block of imports whose first line (or the line above it) has the comment."""
    i = lineno - 2
    while i >= 0 and lines[i].strip().startswith(("from ", "import ")):
        if "#" in lines[i] or (i > 0 and lines[i - 1].strip().startswith("#")):
            return True
        i -= 1
    return False


def test_an_import_inside_a_function_says_why():
    missing = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            missing += _function_imports_without_reason(path)
    assert not missing, "imports go at the top of the module, or say why not:\n" + "\n".join(missing)


def test_every_module_is_in_one_layer_of_the_layer_order():
    """The "one layer order" contract lists every module: a new module fails here until it is given its layer
    (an unlisted module would be free to import upwards). Package __init__ files that group modules are not
    listed, nor the app factory at the top (``foerdercall``)."""
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (order,) = [c for c in contracts if c["type"] == "layers"]
    listed = [name.strip() for layer in order["layers"] for name in layer.split(":")]
    assert len(listed) == len(set(listed)), "a module in two layers"
    graph = grimp.build_graph(*PACKAGES)
    groups = {m for m in graph.modules if any(o.startswith(m + ".") for o in graph.modules)}
    missing = sorted(
        m
        for m in graph.modules
        if m != "foerdercall" and m not in groups and not any(m == n or m.startswith(n + ".") for n in listed)
    )
    assert missing == [], f"give these modules their layer in pyproject.toml: {missing}"
