"""Bulk jobs: started in a request (a row, handed to the worker after the commit), run by the worker item
by item with the progress committed as it goes.

- Bulk steps (sign-off, formal check passed, award): each proposal in a transaction of its own through
  ``awards.operations.take_step`` (the row lock, the state machine, the audit, the mails) and its result
  committed with it, so a refusal is reported for that proposal only and a worker that dies mid-way resumes
  after the last committed item.
- Exports (ranking/scores as CSV/XLSX): the same bytes as the synchronous download (``export_file``); the
  call's Vergabevermerk (PDF): the same document as ``documents.call_record``. The file is written row by
  row into a spooled temporary file and kept in the database in pieces (``store_result``), read back the
  same way for the download (``result_file``): a large call's export is never in memory at once.

Who runs them: ``foerdercall.jobs.runner`` (a Celery task with a broker, a thread of the web process in the
embedded default): it calls the steps below one after another and commits after each. Its ``run_job`` may
be called twice for the same job: only one claims it.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from typing import IO, cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, and_, delete, func, or_, select, update

from ..accounts.models import User
from ..aftercommit import on_commit
from ..awards.operations import take_step
from ..calls.models import Call
from ..documents.operations import build_call_record
from ..errors import ActionRefused
from ..extensions import db
from ..policy.reading import may_read_call_record, official_may_read
from ..proposals.models import Proposal
from ..ranking.exports import answers_table, ranking_table, scores_table, to_csv, to_xlsx
from ..ranking.service import compute_ranking
from ..sheets import spooled
from ..timeutil import now
from .models import BulkJob, BulkJobChunk

log = logging.getLogger(__name__)

STALE = dt.timedelta(minutes=5)  # a running job without a heartbeat for this long belongs to a dead worker
KEEP = dt.timedelta(days=1)  # finished jobs (and their files) are removed after a day (the sweep)
RESULT_CHUNK = 1 << 20  # a job's file is kept in pieces of this size (foerdercall.jobs.models.BulkJobChunk)

EXPORTS = ("ranking", "scores", "answers")  # what a call's export may be
EXPORT_MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# --- the exports (the same for the synchronous download and the job) -----------------------------------------


def write_export(out: IO[bytes], call: Call, viewer, what: str, fmt: str, ranking=None) -> tuple[str, str]:
    """Write the ranking (what=ranking), every review (what=scores) or every proposal's answers (what=answers)
    export into ``out``, row by row;
    returns (file name, mimetype)."""
    result = ranking if ranking is not None else compute_ranking(call, viewer=viewer)
    if what == "answers":  # the answers to the call's form
        table = answers_table(result, call, viewer)
        to_csv(out, *table) if fmt == "csv" else to_xlsx(out, [(_("Angaben"), *table)])
    elif fmt == "csv":
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
    """A bulk step on more than SIGN_OFF_SYNC_LIMIT proposals (default 20) goes through a job."""
    return n > current_app.config["SIGN_OFF_SYNC_LIMIT"]


# --- starting ------------------------------------------------------------------------------------------------

# a bulk step's job kind (labels.JOB_KINDS names each)
STEP_JOBS = {"sign_off": "sign_off", "declare_eligible": "bulk_eligible", "award": "bulk_award"}


def start_steps(
    call: Call, actor, proposals: Sequence[Proposal], step: str, decision: str = "", reason: str = ""
) -> BulkJob:
    """A bulk step as a job: the proposals in the order of their ids (as ``steps_many``)."""
    chosen = sorted(proposals, key=lambda p: p.id)
    job = BulkJob(
        kind=STEP_JOBS[step],
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
            "step": step,
            "decision": decision,
            "reason": reason or "",
        },
    )
    db.session.add(job)
    db.session.flush()
    on_commit("job", job.id)
    return job


def start_sign_off(
    call: Call, actor, proposals: Sequence[Proposal], decision: str, reason: str = ""
) -> BulkJob:
    """A bulk sign-off as a job."""
    return start_steps(call, actor, proposals, "sign_off", decision, reason)


def start_export(call: Call, actor, what: str, fmt: str) -> BulkJob:
    if what not in EXPORTS or fmt not in EXPORT_MIMETYPES:
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
    on_commit("job", job.id)
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
    on_commit("job", job.id)
    return job


# --- running (one step each; foerdercall.jobs.runner commits after every step) ---------------------------


def claim(job_id: int) -> bool:
    """Take the job (queued, or running without a heartbeat for STALE: its worker died)."""
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
    return cast(CursorResult, res).rowcount == 1  # an UPDATE's result


def load(job_id: int) -> BulkJob:
    """The job as the database has it now (read again: the runner commits between the steps)."""
    found = db.session.get(BulkJob, job_id, populate_existing=True)
    assert found is not None
    return found


def begin(job_id: int) -> User | None:
    """The first step of a claimed job: its start time (once); returns who started it (None: gone)."""
    j = load(job_id)
    if j.started_at is None:
        j.started_at = now()
    db.session.flush()
    return db.session.get(User, j.started_by_id)


def fail(job_id: int, message: str) -> None:
    j = load(job_id)
    j.state, j.message, j.finished_at = "failed", message, now()
    db.session.flush()


def _finish(j: BulkJob, message: str) -> None:
    j.state, j.message, j.finished_at, j.heartbeat_at = "done", message, now(), now()
    db.session.flush()


def steps_left(job_id: int) -> list[int]:
    """The proposals of a bulk step not done yet (a resumed job: what is committed is done)."""
    j = load(job_id)
    seen = {item["id"] for item in j.items}
    return [pid for pid in j.params["proposal_ids"] if pid not in seen]


def step_one(job_id: int, actor: User, pid: int) -> None:
    """One proposal of a bulk step and its line in the job. A refusal (in a savepoint: it undoes this
    proposal's step and its mails only) is that proposal's line."""
    j = load(job_id)
    params, call_id = j.params, j.call_id
    message: str | None = None
    p = db.session.get(Proposal, pid)
    try:
        with db.session.begin_nested():
            if p is None or p.call_id != call_id:
                raise ActionRefused(_("Das Angebot gehört nicht zu diesem Aufruf."))
            take_step(
                p, actor, params.get("step", "sign_off"), params.get("decision", ""), params.get("reason", "")
            )
    except ActionRefused as exc:
        message = exc.message
    j = load(job_id)
    j.items = [
        *j.items,
        {
            "id": pid,
            "label": params.get("labels", {}).get(str(pid), f"#{pid}"),
            "ok": message is None,
            "message": message or "",
        },
    ]
    j.done = min(j.total, j.done + 1)
    j.heartbeat_at = now()
    db.session.flush()


def finish_steps(job_id: int) -> None:
    j = load(job_id)
    done = sum(1 for i in j.items if i["ok"])
    step = j.params.get("step", "sign_off")
    if step == "award":
        message = _("%(done)s von %(total)s Zuschlägen erteilt.", done=done, total=j.total)
    elif step == "declare_eligible":
        message = _("%(done)s von %(total)s als formal zulässig erklärt.", done=done, total=j.total)
    else:
        message = _("%(signed)s von %(total)s gezeichnet.", signed=done, total=j.total)
    _finish(j, message)


def rank_for_export(job_id: int, actor: User):
    """The first step of an export: the ranking (returned for the second step), the job at half way."""
    j = load(job_id)
    result = compute_ranking(db.session.get(Call, j.call_id), viewer=actor)
    j = load(job_id)
    j.done, j.heartbeat_at = 1, now()
    db.session.flush()
    return result


def finish_export(job_id: int, actor: User, ranking) -> None:
    """The second step of an export: the file, stored with the job."""
    j = load(job_id)
    call = db.session.get_one(Call, j.call_id)
    f, name, mimetype = export_file(call, actor, j.params["what"], j.params["fmt"], ranking=ranking)
    with f:
        j = load(job_id)
        store_result(j, f, name, mimetype)
    j.done = 2
    _finish(j, _("Der Export ist fertig."))


def finish_call_record(job_id: int, actor: User) -> None:
    """The call's Vergabevermerk, in one step."""
    j = load(job_id)
    call = db.session.get_one(Call, j.call_id)
    if not may_read_call_record(actor, call):  # checked again: the starter's rights may have changed
        raise ActionRefused(_("Dafür fehlt Ihnen die Berechtigung."))
    data = build_call_record(call, actor, actor.locale, lambda p: official_may_read(actor, p))
    j = load(job_id)
    store_result(j, io.BytesIO(data), f"vergabevermerk-{call.code}.pdf", "application/pdf")
    j.done = 1
    _finish(j, _("Der Vergabevermerk ist fertig."))


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
    lost the message) or running without a heartbeat for STALE (its worker died) is handed over again after
    the commit (the claim lets only one run it; a resumed sign-off skips what is committed). Returns how many
    were removed."""
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
    for job_id in stalled:
        log.info("sweep: job %s handed over again", job_id)
        on_commit("job", job_id)
    return removed
