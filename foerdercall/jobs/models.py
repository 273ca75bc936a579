from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from ..timeutil import UTCDateTime, now

STATES = ("queued", "running", "done", "failed")


class BulkJob(Model):
    """One bulk action run by the worker: what it is (kind, params), how far it is (done of total), what came
    of each item (items: [{"id", "label", "ok", "message"}]) and, for an export, the file. The file is kept in
    the database (web and worker may run on different machines) in pieces (:class:`BulkJobChunk`), and
    removed with the row after a day."""

    __tablename__ = "bulk_jobs"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="job_state"),
        CheckConstraint("done >= 0 AND done <= total", name="job_progress"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # labels.JOB_KIND_LABELS
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    result_name: Mapped[str | None] = mapped_column(String(200))
    result_mimetype: Mapped[str | None] = mapped_column(String(120))
    result_size: Mapped[int | None] = mapped_column()  # bytes of the file (in BulkJobChunk); None: no file
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def has_file(self) -> bool:
        return self.result_size is not None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def refused(self) -> list[dict[str, Any]]:
        return [i for i in self.items if not i.get("ok")]


class BulkJobChunk(Model):
    """One piece of a job's file (``jobs.operations.RESULT_CHUNK`` bytes, the last one shorter): written and
    read one at a time, so no process holds a large file in memory."""

    __tablename__ = "bulk_job_chunks"

    job_id: Mapped[int] = mapped_column(ForeignKey("bulk_jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
