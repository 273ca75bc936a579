from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from workflows import find_transition

from ..extensions import Model
from ..timeutil import UTCDateTime, now


class ParkedPost(Model):
    """The text fields of one refused post, bound to the browser that sent it.

    ``browser_key`` is the SHA-256 of a random value kept in an HttpOnly cookie of that browser (only the browser
    can present it); ``user_id`` is who was still logged in, if anyone (then only that person is offered the
    text). One row per browser and form (the newest post wins); rows expire after a day. The text is applied to
    a draft only when its owner asks for it (a CSRF-protected post), so a post another site makes a browser
    send can never change a draft by itself."""

    __tablename__ = "parked_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    browser_key: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # a keyed hash of the client's address (IPv6: its /64): anonymous posts are bounded per address
    address_key: Mapped[str | None] = mapped_column(String(64), index=True)
    endpoint: Mapped[str] = mapped_column(String(80))  # proposals.edit | reviews.score
    target_id: Mapped[int] = mapped_column()
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    had_files: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


# kept with a parked report and a parked sign-off: which report, which decision
REPORT_KINDS = ("interim", "final")
DECISIONS = ("approve", "reject")


def reason_trigger(trigger) -> bool:
    """A step of the proposal workflow a person fires with a written reason (a form of its own aside)."""
    t = find_transition("proposal", trigger) if isinstance(trigger, str) else None
    return (
        t is not None
        and bool(t.get("reason_required"))
        and tuple(t["who"]) != ("system",)
        and trigger != "answer_request"
    )
