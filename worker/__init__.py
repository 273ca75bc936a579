"""The worker's seam: one periodic function (sweep) and one hook after every commit (after_commit).

Embedded default (no BROKER_URL): the sweep runs in a thread of ``foerdercall serve`` and mail is delivered
into the local outbox (or over SMTP) right after the commit. With BROKER_URL the Celery worker on Redis
(``worker/celery_app.py``, ``worker/tasks.py``) runs the same sweep and delivers the mail.
"""

from __future__ import annotations


def after_commit() -> None:
    """Called once per request after a successful commit: hand over (or deliver) what the request queued.

    With a broker this never fails the request: when Redis is down the relay sends the mail later.
    """
    from foerdercall.mail.operations import dispatch_pending

    dispatch_pending()
