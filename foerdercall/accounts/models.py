from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from ..timeutil import UTCDateTime, now

ROLES = ("applicant", "reviewer", "official", "advisor", "admin")


NOTIFY_MODES = ("immediate", "daily")
# the form of address a person chose for letters and mails ("": none, a neutral greeting with the full name)
SALUTATIONS = ("", "frau", "herr")


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="de")
    office: Mapped[str | None] = mapped_column(String(10))
    head_of_office: Mapped[bool] = mapped_column(default=False, server_default=false())  # gets escalations
    active: Mapped[bool] = mapped_column(default=True)
    # how an official hears of what arrives for them (answers, reports, declined reviews): "immediate", a mail
    # each time, or "daily", one mail a morning with their task list (NOTIFY_MODES)
    notify_mode: Mapped[str] = mapped_column(String(10), default="immediate", server_default="immediate")
    salutation: Mapped[str] = mapped_column(String(10), default="", server_default="")  # SALUTATIONS
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    # When the address was proved by the link in the verification mail (None: not yet).
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # TOTP two-factor login: the base32 secret once confirmed (encrypted at rest, "v1:…", see
    # accounts/secrets.py; plain base32 from before the encryption until the next login), when it was turned
    # on, and the last time step accepted (a code works once).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    def greeting(self, lang: str = "de") -> str:
        """The opening of a mail or letter to this person: "Guten Tag Frau Weber," with a chosen form of
        address, else a neutral "Guten Tag Ada Weber," (English: "Dear Ms Weber," / "Dear Ada Weber,")."""
        surname = (self.name or "").split()[-1] if (self.name or "").split() else ""
        if self.salutation in ("frau", "herr") and surname:
            if lang == "en":
                return f"Dear {'Ms' if self.salutation == 'frau' else 'Mr'} {surname},"
            return f"Guten Tag {'Frau' if self.salutation == 'frau' else 'Herr'} {surname},"
        return f"Dear {self.name}," if lang == "en" else f"Guten Tag {self.name},"

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    # The login session this object was loaded through (web.load_user) or just opened (accounts.views): Flask-Login
    # keeps get_id() in the session cookie, so the cookie carries the session's token, never the account's id.
    if TYPE_CHECKING:  # their types; an annotation in the class body would make them columns
        login_token: str | None
        login_session_id: int | None
    login_token = None
    login_session_id = None

    def get_id(self) -> str | None:  # flask-login
        return self.login_token

    def __eq__(
        self, other
    ):  # the account, not the session it was loaded through (UserMixin compares get_id())
        if isinstance(other, User):
            return self.id is not None and self.id == other.id
        return NotImplemented

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<User {self.email}>"


# The login looks a person up by lower(email) (accounts.operations.find_user): without this index every login
# read the whole table (60 ms at 100,000 accounts).
Index("ix_users_email_lower", func.lower(User.email))


class RoleGrant(Model):
    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    user: Mapped[User] = relationship(back_populates="grants")


class RecoveryCode(Model):
    """A one-time code for the two-factor login when the authenticator is lost: stored as its SHA-256 (the
    codes are random with 50 bits, so a plain hash suffices), used once."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class LoginFailure(Model):
    """One failed login (wrong password or wrong second-factor code), counted per account (the normalised
    address typed, whether or not the account exists) and per client address within the throttle window."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_at", "email", "at"),
        Index("ix_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now, index=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))


class LoginSession(Model):
    """One login: the browser's cookie carries a random token, stored here only as its SHA-256. A request is
    logged in while its row is live (not ended, not past ``expires_at``): logout, a password reset, a change of the
    two-factor login, an admin, a removed role end it (``ended_at``, ``end_reason``). Address and browser are
    shown to the person in their own list of open sessions. The worker deletes rows 30 days after they expired."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")


class LoginUnlock(Model):
    """A mailed link that lets one browser log in to a locked account (past the per-account throttle, with the
    right password, under the per-address one): a random token stored as its SHA-256, short-lived, used once."""

    __tablename__ = "login_unlocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
