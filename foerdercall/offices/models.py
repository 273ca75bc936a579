"""The city's offices (Ämter): data an admin keeps, never names in code.

``key`` is what other rows store (an official's office, a sign-off, an audit event, a call's deciding offices):
short ASCII, fixed once created. ``short_name`` is what pages show (umlauts allowed), ``name`` the full name for
documents and the privacy notice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import Model
from ..timeutil import UTCDateTime, now


class Office(Model):
    __tablename__ = "offices"
    __table_args__ = (CheckConstraint("length(key) > 0 AND length(short_name) > 0", name="named"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(10), unique=True)
    short_name: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    head_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    # a new call names the offices marked here as its deciding offices until its editor chooses others
    decides_by_default: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
