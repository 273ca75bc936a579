"""Run the ``foerdercall`` command (serve, demo, sweep) for the browser tests, with a clock the test moves.

The browser tests start the real server as a subprocess. To pass a deadline without waiting, the test
writes an ISO 8601 moment into the file named by ``FOERDERCALL_TEST_CLOCK_FILE``; while that file is empty
or missing, the real time applies. This is test-only: the clock is installed here, before the command
runs, with the same ``timeutil.set_clock`` the pytest fixtures use, so the app has no test hook at all.

    FOERDERCALL_TEST_CLOCK_FILE=/tmp/clock python tests/browser/serve.py serve --port 5001 --no-worker
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from foerdercall import timeutil
from foerdercall.cli import main


def file_clock(path: str):
    file = Path(path)

    def clock() -> dt.datetime:
        try:
            text = file.read_text().strip()
        except FileNotFoundError:
            text = ""
        return dt.datetime.fromisoformat(text) if text else dt.datetime.now(dt.UTC)

    return clock


if __name__ == "__main__":
    if os.environ.get("FOERDERCALL_TEST_CLOCK_FILE"):
        timeutil.set_clock(file_clock(os.environ["FOERDERCALL_TEST_CLOCK_FILE"]))
    main()
