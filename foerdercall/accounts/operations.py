from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..audit.operations import record
from ..errors import ActionRefused
from ..extensions import db
from ..timeutil import now
from .models import OFFICES, ROLES, RoleGrant, User

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def create_user(email: str, name: str, password: str, *, roles=("applicant",), office=None,
                organisation: str = "", locale: str = "de", head_of_office: bool = False, actor=None) -> User:
    email = normalise_email(email)
    if find_user(email) is not None:
        raise ActionRefused(_("Für diese E-Mail-Adresse gibt es bereits ein Konto."))
    if len(password or "") < 10:
        raise ActionRefused(_("Das Passwort muss mindestens 10 Zeichen lang sein."))
    if office is not None and office not in OFFICES:
        raise ActionRefused(_("Unbekanntes Amt."))
    if any(r not in ROLES for r in roles):
        raise ActionRefused(_("Unbekannte Rolle."))
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), office=office,
                head_of_office=head_of_office,
                organisation=organisation or "", locale=locale if locale in ("de", "en") else "de",
                created_at=now())
    user.grants = [RoleGrant(role=r) for r in roles]
    db.session.add(user)
    db.session.flush()
    record(actor or user, "create_user", user,
           data={"roles": list(roles), "office": office, "head_of_office": head_of_office})
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    if user is None or not user.active:
        _hasher.hash("timing-equaliser")  # same cost whether or not the account exists
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    return user


def set_roles(user: User, actor, roles: list[str], office: str | None, head_of_office: bool = False) -> User:
    if any(r not in ROLES for r in roles):
        raise ActionRefused(_("Unbekannte Rolle."))
    if "official" in roles and office not in OFFICES:
        raise ActionRefused(_("Mitarbeitende der Ämter brauchen ein Amt."))
    if head_of_office and ("official" not in roles or office not in OFFICES):
        raise ActionRefused(_("Eine Amtsleitung braucht die Rolle „official“ und ein Amt."))
    before = sorted(user.roles), user.office, user.head_of_office
    user.grants = [g for g in user.grants if g.role in roles] + [
        RoleGrant(role=r) for r in roles if r not in user.roles]
    user.office = office
    user.head_of_office = head_of_office
    db.session.flush()
    record(actor, "set_roles", user, data={"before": before, "after": [sorted(roles), office, head_of_office]})
    return user
