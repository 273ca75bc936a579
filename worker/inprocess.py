"""The embedded default's worker: the sweep in a daemon thread of the web process."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from .sweep import sweep

log = logging.getLogger(__name__)


def start(app: Flask) -> threading.Event:
    stop = threading.Event()
    interval = app.config["SWEEP_INTERVAL_SECONDS"]

    def loop():
        while not stop.is_set():
            try:
                with app.app_context():
                    report = sweep()
                    if any(report.values()):
                        log.info("sweep: %s", report)
            except Exception:  # keep running; the next sweep retries
                log.exception("sweep failed")
            stop.wait(interval)

    threading.Thread(target=loop, name="foerdercall-sweep", daemon=True).start()
    return stop
