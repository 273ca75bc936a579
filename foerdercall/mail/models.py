from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from ..timeutil import UTCDateTime, now

MAIL_STATUSES = ("pending", "sending", "sent", "failed")
# Why a mail failed: the relay (unreachable, refusing for now: tried again by itself once the relay takes mail
# again), the recipient (refused for now: 4xx to RCPT), the mail itself (an error making it), or for good (5xx).
FAILURES = ("relay", "recipient", "mail", "permanent")


class OutboxMail(Model):
    """Every mail the process sends, written in the same transaction as the change that causes it.

    ``dedup_key`` makes a mail unique (kind, object, moment, recipient): writing it twice is a no-op.
    Delivery (``delivery.send_batch``): ``pending`` → ``sending`` (claimed by one delivery attempt,
    ``claimed_by``/``claimed_at``, held by the process ``claimant``) → ``sent``; a transient error puts it back
    to ``pending`` until ``next_attempt_at``; after ``MAIL_MAX_ATTEMPTS`` (or a permanent refusal) it is
    ``failed`` (``failed_at``) with the reason in ``last_error`` and its kind in ``failure``.
    A ``held`` mail waits for an official to release it (decision mails of a call that holds them).
    ``event_at`` is the moment the mail is about (a due date): it goes out with an ``.ics`` attachment.
    """

    __tablename__ = "outbox_mails"
    __table_args__ = (CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(5), default="de")
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    held: Mapped[bool] = mapped_column(default=False, server_default=false())
    event_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(
        String(64)
    )  # the delivery attempt (task id and a random part)
    # the process holding the claim: its advisory lock's key on PostgreSQL (gone with the process), else None
    claimant: Mapped[int | None] = mapped_column()
    failure: Mapped[str] = mapped_column(String(10), default="", server_default="")
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    requeued: Mapped[int] = mapped_column(default=0, server_default="0")  # rounds after the relay came back
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())  # last handed to the broker
    # the call's mail template whose text this is (foerdercall.mailtemplates), None for the built-in text
    template_id: Mapped[int | None] = mapped_column()
    template_version: Mapped[int | None] = mapped_column()


class WorkerRun(Model):
    """The last run of each periodic job of the worker (``sweep``, ``relay``), for the status page."""

    __tablename__ = "worker_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")


# Mails that carry a secret link: only their recipient may read them (not the officials' outbox).
SECRET_MAIL_KINDS = frozenset({"verify_email", "password_reset", "login_unlock"})
