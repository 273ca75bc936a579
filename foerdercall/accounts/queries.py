"""Read queries about accounts."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import RoleGrant, User


def officials(office: str | None = None) -> list[User]:
    q = select(User).join(RoleGrant).where(RoleGrant.role == "official", User.active.is_(True))
    if office:
        q = q.where(User.office == office)
    return list(db.session.scalars(q.order_by(User.id)))
