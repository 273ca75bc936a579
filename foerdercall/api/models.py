"""A token an integration uses the JSON API with (issue 15): it acts as a person (the rules of the pages apply to
it), limited to its scopes; only the digest of its secret is stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from ..timeutil import UTCDateTime, now

# What a token may do beyond reading what its person may read
SCOPES = ("read", "payments:write", "indicators:write")


class ApiToken(Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # the integration: "Finanzverfahren", "Umfragewerkzeug"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), index=True
    )  # whose rules it reads and acts by
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    prefix: Mapped[str] = mapped_column(String(16))  # the secret's first characters, to recognise it in lists
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user = relationship("User", foreign_keys=[user_id])
