"""API tokens: made by an admin for an integration (acting as one person, within its scopes), revoked by an admin,
recognised by the digest of their secret. Every use is audited (the person, the token, the method and path)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import User
from ..audit.trail import record
from ..errors import ActionRefused
from ..extensions import db
from ..policy import check
from ..text import printable, token_digest
from ..timeutil import now
from .models import SCOPES, ApiToken

PREFIX = "fc_"


def create_token(admin, user: User, name: str, scopes: Sequence[str]) -> tuple[ApiToken, str]:
    """A new token and its secret (shown once; only its digest is kept)."""
    check(admin, "admin.work")
    name = printable(name or "").strip()
    if not name:
        raise ActionRefused(_("Bitte nennen Sie die Anwendung, die den Schlüssel nutzt."))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise ActionRefused(_("Bitte wählen Sie die Rechte des Schlüssels aus der Liste."))
    if not user.active:
        raise ActionRefused(_("Das Konto ist gesperrt."))
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name[:100],
        user_id=user.id,
        scopes=[s for s in SCOPES if s in scopes],
        prefix=secret[:10],
        digest=token_digest(secret),
        created_by_id=admin.id,
        created_at=now(),
    )
    db.session.add(token)
    db.session.flush()
    record(
        admin, "create_api_token", token, data={"name": token.name, "user": user.id, "scopes": token.scopes}
    )
    return token, secret


def revoke_token(admin, token: ApiToken) -> None:
    check(admin, "admin.work")
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by_id = now(), admin.id
        record(admin, "revoke_api_token", token, data={"name": token.name})


def tokens() -> Sequence[ApiToken]:
    return db.session.scalars(
        select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
    ).all()


def token_for(secret: str) -> ApiToken | None:
    """The live token of a secret (not revoked, its person active), or None."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.digest == token_digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    return token


def note_use(token: ApiToken, method: str, path: str) -> None:
    """The audit of a use: who (the token's person), which token, what."""
    token.last_used_at = now()
    record(token.user, "api_request", token, data={"token": token.name, "method": method, "path": path[:300]})
