from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from ..timeutil import UTCDateTime, now


class MailTemplate(Model):
    """The text of one outcome mail of a call, in one language, for one rule.

    The rule: ``state`` (the proposal's state when the mail is written) and ``field_of_action`` (the
    proposal's field), each ``""`` for "any". ``subject``/``body`` is the latest text (``version``, counted
    up on every change of the text); ``active_subject``/``active_body`` is the text that was previewed and
    activated (``active_version``, 0 = never). The outbox uses the active text only while ``active``: an
    edited active template keeps sending its last activated text until the new one is previewed and
    activated. Placeholders are ``{Name}`` etc. (``operations.PLACEHOLDERS``), substituted as plain text.
    """

    __tablename__ = "mail_templates"
    __table_args__ = (
        UniqueConstraint("call_id", "kind", "lang", "state", "field_of_action"),
        CheckConstraint("lang IN ('de', 'en')", name="lang"),
        CheckConstraint("active_version <= version", name="active_version"),
        CheckConstraint("NOT active OR active_version > 0", name="active_previewed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    lang: Mapped[str] = mapped_column(String(5))
    state: Mapped[str] = mapped_column(String(30), default="")
    field_of_action: Mapped[str] = mapped_column(String(40), default="")
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    active_subject: Mapped[str] = mapped_column(String(300), default="")
    active_body: Mapped[str] = mapped_column(Text, default="")
    active_version: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    edited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    edited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    activated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    call = relationship("Call")
    edited_by = relationship("User", foreign_keys=[edited_by_id])
    activated_by = relationship("User", foreign_keys=[activated_by_id])

    @property
    def has_draft(self) -> bool:
        """A text newer than the activated one waits for its preview and activation."""
        return self.version != self.active_version
