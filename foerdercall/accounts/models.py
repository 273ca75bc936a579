from __future__ import annotations

import datetime as dt

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import UTCDateTime, now

ROLES = ("applicant", "reviewer", "official", "advisor", "admin")
# Office codes; labels are translated in the templates.
OFFICES = ("KA", "AfWiFoe")


class User(UserMixin, db.Model):
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
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=now)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[str]:
        return {g.role for g in self.grants}

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_active(self) -> bool:  # flask-login
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class RoleGrant(db.Model):
    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    user: Mapped[User] = relationship(back_populates="grants")
