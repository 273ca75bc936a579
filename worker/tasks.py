"""The Celery tasks: ids in, reload, one operation, commit. The rules live in the operations.

``deliver_mail`` may arrive twice or after its worker died: the outbox row's claim decides who sends.
"""
from __future__ import annotations

import logging
import traceback

from celery import shared_task

from foerdercall.extensions import db
from foerdercall.mail import operations as mail_ops
from foerdercall.timeutil import now

from .celery_app import enqueue_deliveries
from .locks import exclusive

log = logging.getLogger(__name__)


@shared_task(bind=True, name="worker.tasks.deliver_mail", max_retries=None)
def deliver_mail(self, mail_id: int, sent: bool = False) -> str:
    """Send one outbox mail; transient errors come back with back-off (the row records each attempt)."""
    try:
        return mail_ops.send_mail(mail_id, self.request.id, already_sent=sent)
    except mail_ops.DeliveryDeferred as exc:
        delay = exc.delay if exc.delay is not None else mail_ops.retry_delay(self.request.retries + 1)
        raise self.retry(args=[mail_id], kwargs={"sent": exc.sent}, countdown=delay, exc=exc) from exc


@shared_task(name="worker.tasks.relay")
def relay() -> int:
    """Hand over again what the broker lost or a dead worker left behind."""
    started = now()
    ids = mail_ops.relay_due()
    handed = enqueue_deliveries(ids)
    if ids:
        log.info("relay: %d mail(s) handed over again", handed)
    mail_ops.record_run("relay", started, report={"mails_handed_over": handed})
    db.session.commit()
    return handed


@shared_task(name="worker.tasks.sweep")
def sweep() -> dict | None:
    """The periodic sweep (worker/sweep.py), never two at once."""
    from .sweep import sweep as run_sweep

    with exclusive("sweep") as mine:
        if not mine:
            log.info("sweep: another sweep is running")
            return None
        started = now()
        try:
            report = run_sweep()
        except Exception:
            db.session.rollback()
            mail_ops.record_run("sweep", started, error=traceback.format_exc(limit=3))
            db.session.commit()
            raise
        mail_ops.record_run("sweep", started, report=report)
        db.session.commit()
        return report
