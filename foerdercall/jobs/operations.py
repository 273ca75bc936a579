"""Bulk jobs: started in a request (a row, handed to the worker after the commit), run by the worker item
by item with the progress committed as it goes.

- Bulk sign-off: each proposal in a transaction of its own through ``awards.operations.sign_off`` (the row
  lock, the state machine, the audit, the mails) and its result committed with it, so a refusal is
  reported for that proposal only and a worker that dies mid-way resumes after the last committed item.
- Exports (ranking/scores as CSV/XLSX): the same bytes as the synchronous download (``export_file``); the
  call's Vergabevermerk (PDF): the same document as ``documents.call_record``. The file is written row by
  row into a spooled temporary file and kept in the database in pieces (``store_result``), read back the
  same way for the download (``result_file``): a large call's export is never in memory at once.

Who runs them: ``foerdercall.jobs.runner`` (a Celery task with a broker, a thread of the web process in the
embedded default). ``run_job`` may be called twice for the same job: only one claims it.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from typing import IO, cast

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import CursorResult, and_, delete, func, or_, select, update

from ..accounts.models import User
from ..awards.operations import sign_off
from ..calls.models import Call
from ..documents.operations import build_call_record
from ..errors import ActionRefused
from ..extensions import db
from ..mail.operations import dispatch_pending, pop_queued_ids
from ..policy.reading import may_read_call_record, official_may_read
from ..proposals.models import Proposal
from ..ranking.exports import ranking_table, scores_table, to_csv, to_xlsx
from ..ranking.service import compute_ranking
from ..sheets import spooled
from ..timeutil import now
from .models import BulkJob, BulkJobChunk
from .runner import launch, start_after_commit

log = logging.getLogger(__name__)

STALE = dt.timedelta(minutes=5)  # a running job without a heartbeat for this long belongs to a dead worker
KEEP = dt.timedelta(days=1)  # finished jobs (and their files) are removed after a day (the sweep)
RESULT_CHUNK = 1 << 20  # a job's file is kept in pieces of this size (foerdercall.jobs.models.BulkJobChunk)

EXPORT_MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# --- the exports (the same for the synchronous download and the job) -----------------------------------------


def write_export(out: IO[bytes], call: Call, viewer, what: str, fmt: str, ranking=None) -> tuple[str, str]:
    """Write the ranking (what=ranking) or every review (what=scores) export into ``out``, row by row;
    returns (file name, mimetype)."""
    result = ranking if ranking is not None else compute_ranking(call, viewer=viewer)
    if fmt == "csv":
        to_csv(out, *(ranking_table(result) if what == "ranking" else scores_table(result, call)))
    else:
        scores_sheet = (_("Bewertungen"), *scores_table(result, call))
        to_xlsx(
            out,
            [(_("Rangliste"), *ranking_table(result)), scores_sheet] if what == "ranking" else [scores_sheet],
        )
    return f"{call.code}-{what}.{fmt}", EXPORT_MIMETYPES[fmt]


def export_file(call: Call, viewer, what: str, fmt: str, ranking=None) -> tuple[IO[bytes], str, str]:
    """(file, file name, mimetype) of an export: a spooled temporary file (the caller closes it)."""
    meta: list = []
    f = spooled(lambda out: meta.extend(write_export(out, call, viewer, what, fmt, ranking)))
    return f, meta[0], meta[1]


def export_is_large(call: Call) -> bool:
    """Exports of calls with more proposals than EXPORT_SYNC_LIMIT (default 200) go through
    a job; smaller ones are downloaded at once."""
    count = (
        db.session.scalar(
            select(func.count(Proposal.id)).where(
                Proposal.call_id == call.id, Proposal.submitted_at.is_not(None)
            )
        )
        or 0
    )
    return count > current_app.config["EXPORT_SYNC_LIMIT"]


def sign_off_is_large(n: int) -> bool:
    """A bulk sign-off of more than SIGN_OFF_SYNC_LIMIT proposals (default 20) goes through a job."""
    return n > current_app.config["SIGN_OFF_SYNC_LIMIT"]


# --- starting ------------------------------------------------------------------------------------------------


def start_sign_off(
    call: Call, actor, proposals: Sequence[Proposal], decision: str, reason: str = ""
) -> BulkJob:
    """A bulk sign-off as a job: the proposals in the order of their ids (as ``sign_off_many``)."""
    chosen = sorted(proposals, key=lambda p: p.id)
    job = BulkJob(
        kind="sign_off",
        call_id=call.id,
        started_by_id=actor.id,
        total=len(chosen),
        done=0,
        state="queued",
        message="",
        items=[],
        created_at=now(),
        params={
            "proposal_ids": [p.id for p in chosen],
            "labels": {str(p.id): p.label() for p in chosen},
            "decision": decision,
            "reason": reason or "",
        },
    )
    db.session.add(job)
    db.session.flush()
    start_after_commit(job.id)
    return job


def start_export(call: Call, actor, what: str, fmt: str) -> BulkJob:
    if what not in ("ranking", "scores") or fmt not in EXPORT_MIMETYPES:
        raise ActionRefused(_("Diesen Export gibt es nicht."))
    job = BulkJob(
        kind="export",
        call_id=call.id,
        started_by_id=actor.id,
        total=2,
        done=0,
        state="queued",
        message="",
        items=[],
        created_at=now(),
        params={"what": what, "fmt": fmt},
    )
    db.session.add(job)
    db.session.flush()
    start_after_commit(job.id)
    return job


def start_call_record(call: Call, actor) -> BulkJob:
    """The call's Vergabevermerk (PDF of every proposal's reviews and sign-offs) as a job."""
    job = BulkJob(
        kind="call_record",
        call_id=call.id,
        started_by_id=actor.id,
        total=1,
        done=0,
        state="queued",
        message="",
        items=[],
        created_at=now(),
        params={},
    )
    db.session.add(job)
    db.session.flush()
    start_after_commit(job.id)
    return job


# --- running ---------------------------------------------------------------------------------------------------


def claim(job_id: int) -> bool:
    """Take the job (queued, or running without a heartbeat for STALE: its worker died). Commits."""
    at = now()
    res = db.session.execute(
        update(BulkJob)
        .where(
            BulkJob.id == job_id,
            or_(
                BulkJob.state == "queued", and_(BulkJob.state == "running", BulkJob.heartbeat_at < at - STALE)
            ),
        )
        .values(state="running", heartbeat_at=at)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return cast(CursorResult, res).rowcount == 1  # an UPDATE's result


def _job(job_id: int) -> BulkJob:
    job = db.session.get(BulkJob, job_id, populate_existing=True)
    assert job is not None
    return job


def run_job(job_id: int) -> str | None:
    """Run a job to its end (the worker's entry point); returns its final state, None when it was not ours."""
    if not claim(job_id):
        return None
    job = _job(job_id)
    if job.started_at is None:
        job.started_at = now()
        db.session.commit()
    actor = db.session.get(User, job.started_by_id)
    with force_locale(actor.locale if actor is not None else "de"):
        try:
            if actor is None:
                raise ActionRefused(_("Die Person, die den Auftrag gestartet hat, gibt es nicht mehr."))
            if job.kind == "sign_off":
                _run_sign_off(job_id, actor)
            elif job.kind == "export":
                _run_export(job_id, actor)
            elif job.kind == "call_record":
                _run_call_record(job_id, actor)
            else:
                raise ActionRefused(_("Unbekannte Art von Auftrag."))
        except ActionRefused as exc:
            _fail(job_id, exc.message)
        except Exception:  # noqa: BLE001 - the job is reported as failed, the worker goes on
            log.exception("job %s failed", job_id)
            _fail(job_id, _("Ein unerwarteter Fehler ist aufgetreten."))
    return _job(job_id).state


def _fail(job_id: int, message: str) -> None:
    db.session.rollback()
    job = _job(job_id)
    job.state, job.message, job.finished_at = "failed", message, now()
    db.session.commit()


def _finish(job: BulkJob, message: str) -> None:
    job.state, job.message, job.finished_at, job.heartbeat_at = "done", message, now(), now()
    db.session.commit()


def _run_sign_off(job_id: int, actor: User) -> None:
    job = _job(job_id)
    params = dict(job.params)
    labels = params.get("labels", {})
    seen = {item["id"] for item in job.items}  # a resumed job: what is committed is done
    for pid in params["proposal_ids"]:
        if pid in seen:
            continue
        message: str | None = None
        p = db.session.get(Proposal, pid)
        try:
            if p is None or p.call_id != job.call_id:
                raise ActionRefused(_("Das Angebot gehört nicht zu diesem Aufruf."))
            sign_off(p, actor, params["decision"], params.get("reason", ""))
        except ActionRefused as exc:
            db.session.rollback()
            pop_queued_ids()  # the mails of the undone sign-off were never written
            message = exc.message
        job = _job(job_id)
        job.items = [
            *job.items,
            {
                "id": pid,
                "label": labels.get(str(pid), f"#{pid}"),
                "ok": message is None,
                "message": message or "",
            },
        ]
        job.done = min(job.total, job.done + 1)
        job.heartbeat_at = now()
        db.session.commit()  # the sign-off and its line in the job together
        dispatch_pending()
    job = _job(job_id)
    signed = sum(1 for i in job.items if i["ok"])
    _finish(job, _("%(signed)s von %(total)s gezeichnet.", signed=signed, total=job.total))


def _run_export(job_id: int, actor: User) -> None:
    job = _job(job_id)
    call = db.session.get(Call, job.call_id)
    what, fmt = job.params["what"], job.params["fmt"]
    result = compute_ranking(call, viewer=actor)
    job = _job(job_id)
    job.done, job.heartbeat_at = 1, now()
    db.session.commit()
    call = db.session.get_one(Call, job.call_id)
    f, name, mimetype = export_file(call, actor, what, fmt, ranking=result)
    with f:
        job = _job(job_id)
        store_result(job, f, name, mimetype)
    job.done = 2
    _finish(job, _("Der Export ist fertig."))


def _run_call_record(job_id: int, actor: User) -> None:
    job = _job(job_id)
    call = db.session.get_one(Call, job.call_id)
    if not may_read_call_record(actor, call):  # checked again: the starter's rights may have changed
        raise ActionRefused(_("Dafür fehlt Ihnen die Berechtigung."))
    data = build_call_record(call, actor, actor.locale, lambda p: official_may_read(actor, p))
    job = _job(job_id)
    store_result(job, io.BytesIO(data), f"vergabevermerk-{call.code}.pdf", "application/pdf")
    job.done = 1
    _finish(job, _("Der Vergabevermerk ist fertig."))


# --- the file of a job -----------------------------------------------------------------------------------------


def store_result(job: BulkJob, f: IO[bytes], name: str, mimetype: str) -> None:
    """Keep the job's file in the database (web and worker may run on different machines), in pieces of
    ``RESULT_CHUNK`` bytes, each written and let go before the next is read: the whole file is never in
    memory. Flushes."""
    db.session.execute(delete(BulkJobChunk).where(BulkJobChunk.job_id == job.id))  # a resumed job: anew
    f.seek(0)
    size = seq = 0
    while piece := f.read(RESULT_CHUNK):
        db.session.execute(BulkJobChunk.__table__.insert().values(job_id=job.id, seq=seq, data=piece))
        size, seq = size + len(piece), seq + 1
    job.result_name, job.result_mimetype, job.result_size = name, mimetype, size
    db.session.flush()


def result_file(job: BulkJob) -> IO[bytes]:
    """The job's file, piece by piece from the database into a spooled temporary file (the caller closes it)."""

    def copy(out: IO[bytes]) -> None:
        seqs = db.session.scalars(
            select(BulkJobChunk.seq).where(BulkJobChunk.job_id == job.id).order_by(BulkJobChunk.seq)
        ).all()
        for seq in seqs:
            out.write(
                db.session.execute(
                    select(BulkJobChunk.data).where(BulkJobChunk.job_id == job.id, BulkJobChunk.seq == seq)
                ).scalar_one()
            )
        if out.tell() != job.result_size:
            raise RuntimeError(f"job {job.id}: file incomplete ({out.tell()} of {job.result_size} bytes)")

    return spooled(copy)


# --- the sweep ---------------------------------------------------------------------------------------------------


def cleanup_jobs(at: dt.datetime) -> int:
    """The sweep's care of jobs: finished jobs (with their files) are removed a day after they ended; a job
    still queued a minute after it was written (its hand-over was lost: the web process died before it, Redis
    lost the message) or running without a heartbeat for STALE (its worker died) is handed over again (the
    claim lets only one run it; a resumed sign-off skips what is committed). Returns how many were removed."""
    old = select(BulkJob.id).where(BulkJob.finished_at.is_not(None), BulkJob.finished_at < at - KEEP)
    db.session.execute(
        delete(BulkJobChunk).where(BulkJobChunk.job_id.in_(old)).execution_options(synchronize_session=False)
    )
    res = db.session.execute(
        delete(BulkJob).where(BulkJob.id.in_(old)).execution_options(synchronize_session=False)
    )
    removed = cast(CursorResult, res).rowcount or 0  # a DELETE's result
    if removed:
        log.info("sweep: %d finished job(s) removed", removed)
    stalled = db.session.scalars(
        select(BulkJob.id).where(
            or_(
                and_(BulkJob.state == "queued", BulkJob.created_at < at - dt.timedelta(minutes=1)),
                and_(BulkJob.state == "running", BulkJob.heartbeat_at < at - STALE),
            )
        )
    ).all()
    db.session.commit()
    for job_id in stalled:
        log.info("sweep: job %s handed over again", job_id)
        launch(job_id)
    return removed
