"""The worker's seam: one periodic function (sweep) and one hook after every commit (after_commit).

Embedded default: the sweep runs in a thread of ``foerdercall serve`` and mail is delivered into the
local outbox right after the commit. The Celery worker on Redis (a later issue) calls the same sweep.
"""
from __future__ import annotations

from flask import current_app


def after_commit() -> None:
    """Called once per request after a successful commit: deliver what the request queued."""
    if current_app.config.get("BROKER_URL"):
        return  # the Celery worker's relay picks pending mails up (issue 3)
    from foerdercall.mail.operations import dispatch_pending

    dispatch_pending()
