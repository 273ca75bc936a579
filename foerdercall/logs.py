"""Logs as JSON lines (``LOG_FORMAT=json``, the default outside the embedded one): one object per record with
its time (UTC), level, logger, message, the request's id (the ``X-Request-ID`` nginx sends, else one made here;
the error page shows it, so a person's report finds its lines) and the traceback of an exception."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets

from flask import Flask, g, has_request_context, request

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")  # what a proxy's id may look like; anything else: our own
_HANDLER_NAME = "foerdercall-json"


def request_id() -> str:
    """The current request's id (made on first use); '' outside a request."""
    if not has_request_context():
        return ""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
    return g.request_id


def _with_request_id(factory):
    def make(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = request_id()  # when the line is written, the request may be over
        return record

    make.foerdercall = True  # type: ignore[attr-defined]  # installed once per process
    return make


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if rid := getattr(record, "request_id", ""):
            entry["request_id"] = rid
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def init_app(app: Flask, *, embedded: bool) -> None:
    """Every log record carries the id of the request it was made in; JSON lines on stderr for the root logger
    (once per process), unless LOG_FORMAT is ``text`` (the embedded default: the handlers of whoever runs it)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "foerdercall", False):
        logging.setLogRecordFactory(_with_request_id(factory))
    fmt = app.config["LOG_FORMAT"] or ("text" if embedded or app.testing else "json")
    if fmt != "json":
        return
    root = logging.getLogger()
    if any(h.get_name() == _HANDLER_NAME for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonLines())
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
