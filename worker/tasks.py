"""The Celery tasks: ids in, reload, one operation, commit. The rules live in the operations.

``deliver_mails`` may arrive twice or after its worker died: the outbox rows' claim decides who sends.
"""

from __future__ import annotations

import logging
import secrets
import traceback

from celery import shared_task

from foerdercall.broker import enqueue_deliveries
from foerdercall.extensions import db
from foerdercall.jobs.runner import run_job as run
from foerdercall.mail import delivery
from foerdercall.mail import operations as mail_ops
from foerdercall.timeutil import now

from .locks import exclusive
from .sweep import sweep as run_sweep

log = logging.getLogger(__name__)


@shared_task(bind=True, name="worker.tasks.deliver_mails", max_retries=None)
def deliver_mails(
    self, mail_ids: list[int], sent: list[int] | None = None, owners: list[str] | None = None
) -> dict:
    """Send a batch of outbox mails; what could not be sent yet comes back with back-off (each row records
    its attempts). Each run is an attempt of its own (a copy of the task handed out twice is another attempt);
    ``owners``: the attempts this retry takes over from, ``sent``: mails they sent without a record."""
    token = f"{self.request.id}:{secrets.token_hex(6)}"
    try:
        return delivery.send_batch(mail_ids, token, already_sent=sent or (), owners=owners or ())
    except delivery.DeliveryDeferred as exc:
        delay = exc.delay if exc.delay is not None else delivery.retry_delay(self.request.retries + 1)
        kwargs = {"sent": exc.sent, "owners": exc.owners}
        raise self.retry(args=[exc.retry], kwargs=kwargs, countdown=delay, exc=exc) from exc
    except Exception as exc:  # unforeseen: never acknowledged as done; the rows stay claimed by this attempt
        db.session.rollback()
        log.exception("deliver_mails: unexpected error, retrying")
        kwargs = {"sent": sent or [], "owners": [token, *(owners or [])][:4]}
        countdown = delivery.retry_delay(self.request.retries + 1)
        raise self.retry(args=[mail_ids], kwargs=kwargs, countdown=countdown, exc=exc) from exc


@shared_task(name="worker.tasks.relay")
def relay() -> int:
    """Hand over again what the broker lost or a dead worker left behind, and what failed while the relay
    was away once it takes mail again."""
    started = now()
    requeued = delivery.requeue_after_outage()
    ids = delivery.relay_due()
    handed = enqueue_deliveries(sorted(set(ids) | set(requeued)))
    if ids:
        log.info("relay: %d mail(s) handed over again", handed)
    mail_ops.record_run(
        "relay", started, report={"mails_handed_over": handed, "mails_requeued": len(requeued)}
    )
    db.session.commit()
    return handed


@shared_task(name="worker.tasks.sweep")
def sweep() -> dict | None:
    """The periodic sweep (worker/sweep.py), never two at once."""
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


@shared_task(name="worker.tasks.run_job")
def run_job(job_id: int) -> str | None:
    """A bulk job (foerdercall/jobs): claimed once, run item by item with its progress committed as it goes;
    a redelivered message finds it claimed (or resumes it when its worker died) and does nothing twice."""
    return run(job_id)
