from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import math
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import CursorResult, delete, func, select, text, update
from sqlalchemy.orm import joinedload

from ..audit.trail import record
from ..errors import ActionRefused
from ..extensions import db
from ..i18n import format_dt
from ..mail.operations import queue_mail
from ..metrics import LOGIN_FAILURES
from ..offices.queries import office_keys
from ..policy import check
from ..policy.actors import verification_missing
from ..text import printable, token_digest
from ..timeutil import now
from ..urls import external_url  # every link in a mail: on PUBLIC_URL, never the request's host
from .models import (
    NOTIFY_MODES,
    ROLES,
    SALUTATIONS,
    LoginFailure,
    LoginSession,
    LoginUnlock,
    RecoveryCode,
    RoleGrant,
    User,
)
from .passwords import Argon2idHasher
from .secrets import SecretUnreadable, is_encrypted
from .secrets import decrypt as decrypt_secret
from .secrets import encrypt as encrypt_secret

# An override of the configured hasher (tests and benchmarks set a cheap one); None: the app's config.
_hasher: Argon2idHasher | None = None


@functools.lru_cache(maxsize=4)
def _configured_hasher(time_cost: int, memory_kib: int, parallelism: int) -> Argon2idHasher:
    return Argon2idHasher(time_cost, memory_kib, parallelism)


def password_hasher() -> Argon2idHasher:
    """argon2id with the parameters of PASSWORD_HASH_TIME_COST / _MEMORY_KIB / _PARALLELISM."""
    if _hasher is not None:
        return _hasher
    cfg = current_app.config
    return _configured_hasher(
        int(cfg["PASSWORD_HASH_TIME_COST"]),
        int(cfg["PASSWORD_HASH_MEMORY_KIB"]),
        int(cfg["PASSWORD_HASH_PARALLELISM"]),
    )


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def check_password_rules(password: str) -> None:
    if len(password or "") < 10:
        raise ActionRefused(_("Das Passwort muss mindestens 10 Zeichen lang sein."))


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def create_user(
    email: str,
    name: str,
    password: str,
    *,
    roles=("applicant",),
    office=None,
    organisation: str = "",
    locale: str = "de",
    head_of_office: bool = False,
    actor=None,
    verified: bool = True,
) -> User:
    """An account. Made by the admin, the demo or the tests it counts as verified; self-registration
    (:func:`register_applicant`) passes ``verified=False`` and sends the verification link."""
    email = normalise_email(email)
    if find_user(email) is not None:
        raise ActionRefused(_("Für diese E-Mail-Adresse gibt es bereits ein Konto."))
    check_password_rules(password)
    if office is not None and office not in office_keys():
        raise ActionRefused(_("Unbekanntes Amt."))
    if any(r not in ROLES for r in roles):
        raise ActionRefused(_("Unbekannte Rolle."))
    name = " ".join(printable(name or "").split())  # a NUL cannot be stored in PostgreSQL
    if not name:
        raise ActionRefused(_("Bitte geben Sie Ihren Namen an."))
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        office=office,
        head_of_office=head_of_office,
        organisation=" ".join(printable(organisation or "").split()),
        locale=locale if locale in ("de", "en") else "de",
        created_at=now(),
        email_verified_at=now() if verified else None,
    )
    user.grants = [RoleGrant(role=r) for r in roles]
    db.session.add(user)
    db.session.flush()
    record(
        actor or user,
        "create_user",
        user,
        data={"roles": list(roles), "office": office, "head_of_office": head_of_office, "verified": verified},
    )
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    if user is None or not user.active:
        password_hasher().hash("timing-equaliser")  # same cost whether or not the account exists
        return None
    hasher = password_hasher()
    try:
        hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(user.password_hash):  # other parameters (older defaults): the current ones
        user.password_hash = hasher.hash(password)
    return user


def set_roles(user: User, actor, roles: list[str], office: str | None, head_of_office: bool = False) -> User:
    if any(r not in ROLES for r in roles):
        raise ActionRefused(_("Unbekannte Rolle."))
    offices = office_keys()
    if office is not None and office not in offices:
        raise ActionRefused(_("Unbekanntes Amt."))
    if "official" in roles and office not in offices:
        raise ActionRefused(_("Mitarbeitende der Ämter brauchen ein Amt."))
    if head_of_office and ("official" not in roles or office not in offices):
        raise ActionRefused(_("Eine Amtsleitung braucht die Rolle „official“ und ein Amt."))
    roles = list(dict.fromkeys(roles))  # each role once
    before = sorted(user.roles), user.office, user.head_of_office
    removed = user.roles - set(roles)
    user.grants = [g for g in user.grants if g.role in roles] + [
        RoleGrant(role=r) for r in roles if r not in user.roles
    ]
    user.office = office
    user.head_of_office = head_of_office
    db.session.flush()
    record(
        actor, "set_roles", user, data={"before": before, "after": [sorted(roles), office, head_of_office]}
    )
    if removed:  # what a session was opened with is gone: the person logs in again (an admin editing
        # their own roles keeps the session they do it in)
        ended = end_sessions(user, "roles_changed", keep=actor.login_session_id if actor == user else None)
        if ended:
            record(actor, "end_sessions", user, data={"reason": "roles_changed", "ended": ended})
    return user


# --- signed links (verification, password reset) --------------------------------------------------------


class _ClockSigner(TimestampSigner):
    """Timestamps from foerdercall's clock (tests move it), not from time.time()."""

    def get_timestamp(self) -> int:
        return int(now().timestamp())


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt=f"foerdercall.accounts.{purpose}", signer=_ClockSigner
    )


def _minute_key() -> str:
    """The mail's dedup key: one mail of a kind per account and minute (a repeated click sends nothing)."""
    return now().strftime("%Y%m%dT%H%M")


# --- e-mail verification --------------------------------------------------------------------------------


def register_applicant(
    email: str, name: str, password: str, *, organisation: str = "", locale: str = "de", salutation: str = ""
) -> User | None:
    """Self-registration, answered the same way whether or not the address has an account (nobody learns
    who is registered): a new address gets an unverified applicant account and the mail with the verification
    link; an address with an account gets a mail saying so, with the ways to log in or reset the password, and
    nothing else changes. The password is hashed either way, so the time taken tells nothing either.
    Returns the new account, or None."""
    check_password_rules(password)
    existing = find_user(email)
    if existing is None:
        user = create_user(email, name, password, organisation=organisation, locale=locale, verified=False)
        user.salutation = salutation if salutation in SALUTATIONS else ""
        send_verification(user)
        return user
    hash_password(password)
    queue_mail(
        "account_exists",
        existing,
        _minute_key(),
        login=external_url("accounts.login"),
        reset=external_url("accounts.forgot_password"),
    )
    return None


def send_verification(user: User) -> bool:
    """Queue the mail with the verification link (at most one a minute). False when already verified."""
    if user.email_verified:
        return False
    token = _serializer("verify-email").dumps({"u": user.id, "e": user.email})
    days = current_app.config["EMAIL_VERIFY_MAX_AGE_SECONDS"] // 86400
    queue_mail(
        "verify_email",
        user,
        _minute_key(),
        link=external_url("accounts.verify_email_link", token=token),
        days=days,
    )
    return True


def verify_email(token: str) -> User | None:
    """The account the link proves the address of (now verified), or None for a broken or expired link."""
    try:
        data = _serializer("verify-email").loads(
            token, max_age=current_app.config["EMAIL_VERIFY_MAX_AGE_SECONDS"]
        )
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or user.email != data.get("e"):
        return None
    if not user.email_verified:
        user.email_verified_at = now()
        db.session.flush()
        record(user, "verify_email", user, data={"email": user.email})
    return user


def require_verified(user: User | None) -> None:
    """Refuse (ActionRefused) what needs a verified address, e.g. submitting a proposal."""
    message = verification_missing(user)
    if message:
        raise ActionRefused(message)


# --- password reset -------------------------------------------------------------------------------------


def _password_fingerprint(user: User) -> str:
    """Binds a reset token to the current password: it dies when the password changes (also by its use)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:24]


def request_password_reset(email: str) -> None:
    """Mail a reset link if the account exists; the caller answers the same either way (no enumeration)."""
    user = find_user(email)
    if user is None or not user.active:
        return
    token = _serializer("password-reset").dumps({"u": user.id, "h": _password_fingerprint(user)})
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"] // 60
    link = external_url("accounts.reset_password_link", token=token)
    if queue_mail("password_reset", user, _minute_key(), link=link, minutes=minutes) is not None:
        record(user, "request_password_reset", user)


def user_for_reset(token: str) -> User | None:
    """The account of a valid, unexpired, unused reset token, else None."""
    try:
        data = _serializer("password-reset").loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"]
        )
    except BadData:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(str(data.get("h")), _password_fingerprint(user)):
        return None
    return user


def reset_password(token: str, password: str) -> User:
    user = user_for_reset(token)
    if user is None:
        raise ActionRefused(_("Dieser Link ist ungültig, abgelaufen oder wurde schon benutzt."))
    if len(password or "") < 10:
        raise ActionRefused(_("Das Passwort muss mindestens 10 Zeichen lang sein."))
    user.password_hash = hash_password(password)
    if not user.email_verified:  # the link came by mail: the address is proved
        user.email_verified_at = now()
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))
    db.session.flush()
    end_sessions(user, "password_reset")  # every browser, the one that reset it included
    record(user, "reset_password", user)
    return user


# --- login throttling -----------------------------------------------------------------------------------


@dataclass
class LoginThrottled(Exception):
    """Too many failed logins for the account or the client address: try again at ``until``. ``scope``: what
    is locked, "account" (every address; its owner has the ways of :func:`login_attempt` past it) or "address"."""

    until: dt.datetime
    scope: str = "account"

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil((self.until - now()).total_seconds()))

    @property
    def message(self) -> str:
        return _(
            "Zu viele fehlgeschlagene Anmeldeversuche. Aus Sicherheitsgründen ist die Anmeldung bis "
            "%(when)s gesperrt (noch etwa %(minutes)s Minuten). Sie können Ihr Passwort auch "
            "zurücksetzen.",
            when=format_dt(self.until),
            minutes=math.ceil(self.retry_after / 60),
        )


# While an account is locked, password and code together may be tried this many times the lock's limit of
# failures in the window (from every address together): a known password cannot be used to guess codes past it.
LOCKED_CODE_FACTOR = 4


def _limits():
    cfg = current_app.config
    return (
        dt.timedelta(seconds=cfg["LOGIN_THROTTLE_WINDOW_SECONDS"]),
        (
            (LoginFailure.email, cfg["LOGIN_THROTTLE_PER_ACCOUNT"]),
            (LoginFailure.address, cfg["LOGIN_THROTTLE_PER_ADDRESS"]),
        ),
    )


def _serialise_attempts(email: str) -> None:
    """Attempts on one account wait for each other until the request commits (PostgreSQL: an advisory lock
    for the transaction; SQLite: every transaction is BEGIN IMMEDIATE), so parallel guesses are counted exactly
    instead of all passing the check before the first failure is written."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": "foerdercall.login:" + normalise_email(email)},
        )


def check_throttle(email: str, address: str, *, skip_account: bool = False) -> int:
    """Raise LoginThrottled while the address or (unless ``skip_account``: a browser with an unlock link) the
    account has reached its limit of failures in the window; else return the account's failures in the window.

    The limit-th most recent failure leaving the window ends the block."""
    window, limits = _limits()
    t = now()
    until: dict[str, dt.datetime] = {}
    failures = 0
    for column, limit in limits:
        key = normalise_email(email) if column is LoginFailure.email else address
        times = db.session.scalars(
            select(LoginFailure.at)
            .where(column == key, LoginFailure.at > t - window)
            .order_by(LoginFailure.at.desc())
            .limit(limit)
        ).all()
        if column is LoginFailure.email:
            failures = len(times)
        if len(times) >= limit:
            until["account" if column is LoginFailure.email else "address"] = times[-1] + window
    if skip_account:
        until.pop("account", None)
    if "address" in until:
        raise LoginThrottled(max(until.values()), "address")
    if "account" in until:
        raise LoginThrottled(until["account"], "account")
    return failures


def _account_failures(email: str) -> int:
    window, _limits_ = _limits()
    return (
        db.session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.email == normalise_email(email), LoginFailure.at > now() - window)
        )
        or 0
    )


def record_failure(email: str, address: str) -> None:
    """Count a failed login; write an audit event when it makes the account or the address reach its limit
    (once, not for every refused request); forget failures that left the window."""
    LOGIN_FAILURES.inc()
    window, limits = _limits()
    t = now()
    email = normalise_email(email)[:254]
    db.session.execute(delete(LoginFailure).where(LoginFailure.at <= t - window))
    failure = LoginFailure(at=t, email=email, address=(address or "")[:64])
    db.session.add(failure)
    db.session.flush()
    for column, limit in limits:
        key = failure.email if column is LoginFailure.email else failure.address
        count = db.session.scalar(
            select(func.count()).select_from(LoginFailure).where(column == key, LoginFailure.at > t - window)
        )
        if count == limit:
            scope = "account" if column is LoginFailure.email else "address"
            user = find_user(email) if scope == "account" else None
            record(
                None,
                "login_throttled",
                user or failure,
                data={"scope": scope, "email": email, "address": failure.address, "failures": count},
            )


def clear_failures(user: User) -> None:
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == user.email))


@dataclass
class Login:
    """A right password. ``complete``: logged in now (no second factor, or its code came with the password);
    else the view asks for the code (:func:`second_factor`)."""

    user: User
    complete: bool


def login_attempt(
    email: str, password: str, address: str, *, code: str | None = None, unlocked_for: int | None = None
) -> Login | None:
    """The first step of a login: throttled (LoginThrottled), the password checked, a failure counted.

    A user with two-factor login is not logged in yet (the view asks for the code); failures are cleared only
    when the login is complete (:func:`complete_login`), so a known password cannot reset the code guesses.

    A locked account (others' wrong guesses) still lets its owner in, from any address that is not locked
    itself: with password and ``code`` of the second factor together (one answer for every failure: the lock
    page again, so a password guess learns nothing), or from the browser that used the mailed unlock link
    (``unlocked_for``: the account it is for), with the right password."""
    _serialise_attempts(email)
    unlocked = unlocked_for is not None and (u := find_user(email)) is not None and u.id == unlocked_for
    try:
        failures = check_throttle(email, address, skip_account=unlocked)
    except LoginThrottled as exc:
        if exc.scope != "account" or code is None or not code.strip():
            raise
        return _login_while_locked(email, password, code, address, exc)
    user = authenticate(email, password)
    if user is None:
        record_failure(email, address)
        return None
    if user.two_factor_enabled:
        return Login(user, False)
    if failures:  # nothing to clear after a first-time-right login
        complete_login(user)
    if unlocked and failures >= current_app.config["LOGIN_THROTTLE_PER_ACCOUNT"]:
        record(user, "login_while_locked", user, data={"via": "link", "address": address})
    return Login(user, True)


def _login_while_locked(email: str, password: str, code: str, address: str, locked: LoginThrottled) -> Login:
    """Password and second-factor code in one step while the account is locked: a Login, or the lock again."""
    if _account_failures(email) < current_app.config["LOGIN_THROTTLE_PER_ACCOUNT"] * LOCKED_CODE_FACTOR:
        user = authenticate(email, password)
        try:
            ok = user is not None and user.two_factor_enabled and _accept_code(user, code)
        except (
            TwoFactorUnavailable
        ):  # would tell that the password was right: the same answer as a wrong code
            ok = False
        if ok and user is not None:
            complete_login(user)
            record(user, "login_while_locked", user, data={"via": "code", "address": address})
            return Login(user, True)
        record_failure(email, address)
        check_throttle(email, address)  # the lock with its new end (raises)
    raise locked


def complete_login(user: User) -> None:
    clear_failures(user)


# --- the mailed unlock link -----------------------------------------------------------------------------


def request_unlock_link(email: str) -> None:
    """Mail a link that lets one browser log in to the account despite its lock, if the account exists and is
    locked now; one link per lock window (a second click sends nothing). The caller answers the same either way
    (nobody learns which addresses have an account or a lock)."""
    _serialise_attempts(email)  # two clicks at once: one link
    user = find_user(email)
    if (
        user is None
        or not user.active
        or _account_failures(email) < current_app.config["LOGIN_THROTTLE_PER_ACCOUNT"]
    ):
        return
    t = now()
    live = db.session.scalar(
        select(LoginUnlock.id)
        .where(LoginUnlock.user_id == user.id, LoginUnlock.used_at.is_(None), LoginUnlock.expires_at > t)
        .limit(1)
    )
    if live is not None:
        return
    window, _limits_ = _limits()
    token = secrets.token_urlsafe(32)
    row = LoginUnlock(user_id=user.id, token_hash=token_digest(token), created_at=t, expires_at=t + window)
    db.session.add(row)
    db.session.flush()
    queue_mail(
        "login_unlock",
        user,
        f"unlock{row.id}",
        link=external_url("accounts.unlock_link", token=token),
        minutes=int(window.total_seconds()) // 60,
    )
    record(None, "request_unlock_link", user)


def _live_unlock(token: str):
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    return db.session.execute(
        select(LoginUnlock, User)
        .join(User, User.id == LoginUnlock.user_id)
        .where(
            LoginUnlock.token_hash == token_digest(token),
            LoginUnlock.used_at.is_(None),
            LoginUnlock.expires_at > now(),
            User.active.is_(True),
        )
    ).first()


def unlock_link_valid(token: str) -> bool:
    return _live_unlock(token) is not None


def use_unlock_link(token: str) -> dict | None:
    """Use a valid, unexpired, unused unlock link: the grant the browser keeps (its session) to log in to that
    account despite the lock until the lock window is over ({"u": account id, "e": address, "until": POSIX time}),
    or None."""
    row = _live_unlock(token)
    if row is None:
        return None
    unlock, user = row
    used = db.session.execute(
        update(LoginUnlock)
        .where(LoginUnlock.id == unlock.id, LoginUnlock.used_at.is_(None))
        .values(used_at=now())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult, used).rowcount != 1:  # the same link at the same moment in another request
        return None
    record(user, "use_unlock_link", user)
    window, _limits_ = _limits()
    return {"u": user.id, "e": user.email, "until": (now() + window).timestamp()}


def live_unlock_grant(grant) -> dict | None:
    """The grant a browser keeps from an unlock link (see use_unlock_link) while it lasts, else None."""
    if not isinstance(grant, dict) or not isinstance(grant.get("u"), int):
        return None
    try:
        until = float(grant.get("until", 0))
    except (TypeError, ValueError):
        return None
    return grant if now().timestamp() <= until else None


# --- login sessions -------------------------------------------------------------------------------------

SESSION_ROWS_KEPT = dt.timedelta(
    days=30
)  # a session's row stays this long after its lifetime, then the worker
SESSION_SWEEP_BATCH = 500


def start_session(user: User, address: str, user_agent: str) -> str:
    """A new login session of ``user``: its row, and the random token for the cookie (the row keeps its hash)."""
    token = secrets.token_urlsafe(32)
    t = now()
    row = LoginSession(
        user_id=user.id,
        token_hash=token_digest(token),
        created_at=t,
        expires_at=t + dt.timedelta(hours=float(current_app.config["SESSION_LIFETIME_HOURS"])),
        address=(address or "")[:64],
        user_agent=printable(user_agent or "")[:255],
    )
    db.session.add(row)
    db.session.flush()
    user.login_token, user.login_session_id = token, row.id
    return token


def user_for_session(token) -> User | None:
    """The person of a live session (not ended, not past its lifetime, account active), with their roles: ONE
    statement (every request runs it; it writes nothing)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    row = (
        db.session.execute(
            select(User, LoginSession.id)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(
                LoginSession.token_hash == token_digest(token),
                LoginSession.ended_at.is_(None),
                LoginSession.expires_at > now(),
                User.active.is_(True),
            )
            .options(joinedload(User.grants))
        )
        .unique()
        .first()
    )
    if row is None:
        return None
    user, session_id = row
    user.login_token, user.login_session_id = token, session_id
    return user


def end_sessions(user: User, reason: str, *, keep: int | None = None) -> int:
    """End the live sessions of ``user`` (but the one with id ``keep``); returns how many."""
    t = now()
    stmt = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None), LoginSession.expires_at > t
    )
    if keep is not None:
        stmt = stmt.where(LoginSession.id != keep)
    result = db.session.execute(
        stmt.values(ended_at=t, end_reason=reason).execution_options(synchronize_session=False)
    )
    return cast(CursorResult, result).rowcount or 0  # an UPDATE's result


def end_session(user) -> None:
    """Logout: the session this request was made in ends on the server (a copy of its cookie opens nothing)."""
    session_id = getattr(user, "login_session_id", None)
    if session_id is not None:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
            .values(ended_at=now(), end_reason="logout")
            .execution_options(synchronize_session=False)
        )


def end_other_sessions(user: User) -> int:
    """The person ends their sessions in other browsers."""
    ended = end_sessions(user, "others", keep=user.login_session_id)
    if ended:
        record(user, "end_sessions", user, data={"reason": "others", "ended": ended})
    return ended


def end_sessions_by_admin(user: User, actor: User) -> int:
    """An admin ends every session of a person (a lost laptop, a person leaving): audited."""
    check(actor, "admin.work")
    ended = end_sessions(user, "admin", keep=actor.login_session_id if actor == user else None)
    record(actor, "end_sessions", user, data={"reason": "admin", "ended": ended})
    return ended


def set_salutation(user: User, salutation: str) -> None:
    """The form of address a person chose for letters and mails (SALUTATIONS)."""
    if salutation not in SALUTATIONS:
        raise ActionRefused(_("Bitte wählen Sie eine Anrede aus der Liste."))
    user.salutation = salutation


def set_notify_mode(user: User, mode: str) -> None:
    """An official chooses how they hear of what arrives for them (NOTIFY_MODES): audited."""
    check(user, "official.work")
    if mode not in NOTIFY_MODES:
        raise ActionRefused(_("Bitte wählen Sie, wie Sie benachrichtigt werden möchten."))
    if user.notify_mode != mode:
        user.notify_mode = mode
        record(user, "set_notify_mode", user, data={"mode": mode})


def open_sessions(user: User) -> Sequence[LoginSession]:
    """The live sessions of a person, the newest first."""
    return db.session.scalars(
        select(LoginSession)
        .where(
            LoginSession.user_id == user.id, LoginSession.ended_at.is_(None), LoginSession.expires_at > now()
        )
        .order_by(LoginSession.created_at.desc(), LoginSession.id.desc())
    ).all()


def delete_old_login_rows(
    model: type[LoginSession] | type[LoginUnlock], at: dt.datetime, batch: int = SESSION_SWEEP_BATCH
) -> tuple[int, int]:
    """One batch of session rows (or unlock links) whose lifetime ended more than 30 days before ``at`` (the
    worker commits each batch; worker/sweep.py). Returns (rows found, rows deleted)."""
    cutoff = at - SESSION_ROWS_KEPT
    ids = db.session.scalars(
        select(model.id).where(model.expires_at < cutoff).order_by(model.id).limit(batch)
    ).all()
    if not ids:
        return 0, 0
    res = db.session.execute(
        delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return len(ids), cast(CursorResult, res).rowcount or 0  # a DELETE's result


# --- two-factor login (TOTP) ----------------------------------------------------------------------------

TOTP_ISSUER = "foerdercall Leipzig"

log = logging.getLogger(__name__)


class TwoFactorUnavailable(ActionRefused):
    """The stored TOTP secret cannot be decrypted (the key changed): the code cannot be checked."""


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _normalise_code(code: str) -> str:
    """The code as typed, without spaces and dashes; full-width digits read as 0–9, other scripts kept out."""
    code = unicodedata.normalize("NFKC", code or "").lower()
    return "".join(ch for ch in code if ch.isascii() and ch.isalnum())


def _totp_step(secret: str, code: str, after: int | None) -> int | None:
    """The time step (of now, the one before or after) whose code this is, if later than ``after``."""
    code = _normalise_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now())
    for step in (current - 1, current, current + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash_code(code: str) -> str:
    return hashlib.sha256(_normalise_code(code).encode()).hexdigest()


def _new_recovery_codes(user: User, count: int = 10) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    alphabet = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l
    codes = []
    for _i in range(count):
        raw = "".join(secrets.choice(alphabet) for _j in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_code(raw), created_at=now()))
    db.session.flush()
    return codes


def enable_two_factor(user: User, secret: str, code: str) -> list[str]:
    """Turn on TOTP after the user proved the authenticator with a code; returns the recovery codes (shown
    once, stored hashed)."""
    check(user, "account.two_factor")
    if user.two_factor_enabled:
        raise ActionRefused(_("Die Zwei-Faktor-Anmeldung ist bereits eingeschaltet."))
    step = _totp_step(secret or "", code, None) if secret else None
    if step is None:
        raise ActionRefused(
            _(
                "Der Code stimmt nicht. Bitte geben Sie den aktuellen sechsstelligen Code "
                "Ihrer Authenticator-App ein."
            )
        )
    user.totp_secret = encrypt_secret(secret, user.id)  # encrypted at rest (accounts/secrets.py)
    user.totp_enabled_at, user.totp_last_step = now(), step
    codes = _new_recovery_codes(user)
    end_sessions(user, "two_factor_on", keep=user.login_session_id)  # opened with the password alone
    record(user, "enable_two_factor", user)
    return codes


def reset_two_factor(user: User, actor: User) -> None:
    """An admin turns off a person's two-factor login (authenticator lost, or its secret unreadable after a
    key change): secret and recovery codes are deleted; the person logs in with the password and sets it up
    again."""
    check(actor, "admin.work")
    if not user.two_factor_enabled:
        raise ActionRefused(_("Die Zwei-Faktor-Anmeldung ist nicht eingeschaltet."))
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()
    end_sessions(user, "two_factor_reset")  # the authenticator may be in someone else's hands
    record(actor, "reset_two_factor", user)


def disable_two_factor(user: User, password: str) -> None:
    check(user, "account.disable_two_factor")
    try:
        password_hasher().verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        raise ActionRefused(_("Das Passwort ist falsch.")) from None
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()
    end_sessions(user, "two_factor_off", keep=user.login_session_id)
    record(user, "disable_two_factor", user)


def remaining_recovery_codes(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def second_factor(user: User, code: str, address: str, *, unlocked: bool = False) -> bool:
    """The second step of a login: a TOTP code (each once) or an unused recovery code. Throttled and counted
    like passwords (per account and address; ``unlocked``: the browser used the mailed unlock link, only per
    address)."""
    _serialise_attempts(user.email)
    failures = check_throttle(user.email, address, skip_account=unlocked)
    if _accept_code(user, code):
        complete_login(user)
        if unlocked and failures >= current_app.config["LOGIN_THROTTLE_PER_ACCOUNT"]:
            record(user, "login_while_locked", user, data={"via": "link", "address": address})
        return True
    record_failure(user.email, address)
    return False


def _accept_code(user: User, code: str) -> bool:
    """Whether ``code`` is the person's current TOTP code (not used before: it is used now) or an unused
    recovery code (used now). Raises TwoFactorUnavailable when the secret cannot be read and no recovery code
    matched."""
    db.session.flush()  # a rehashed password (authenticate) is written before the refresh reads the row again
    db.session.refresh(user, with_for_update=True)  # two requests with the same code: one wins
    if not user.two_factor_enabled:
        return False
    assert user.totp_secret is not None  # two_factor_enabled
    try:
        secret = decrypt_secret(user.totp_secret, user.id)
    except SecretUnreadable as exc:
        log.error(
            "two-factor login of user %s: the stored TOTP secret cannot be decrypted (%s); "
            "TOTP_ENCRYPTION_KEY or SECRET_KEY changed? An admin can reset the two-factor login.",
            user.id,
            exc,
        )
        secret = None
    step = _totp_step(secret, code, user.totp_last_step) if secret else None
    if step is not None and secret:
        user.totp_last_step = step
        if not is_encrypted(user.totp_secret):  # a legacy plain value: stored encrypted from now on
            user.totp_secret = encrypt_secret(secret, user.id)
        return True
    recovery = db.session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(code),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )
    if recovery is not None:
        recovery.used_at = now()
        db.session.flush()
        record(user, "use_recovery_code", user, data={"remaining": remaining_recovery_codes(user)})
        return True
    if secret is None:  # not a code we can check: a message, not a 500 and not "wrong code"
        raise TwoFactorUnavailable(
            _(
                "Die Zwei-Faktor-Anmeldung kann derzeit nicht geprüft werden. Bitte wenden Sie sich an die "
                "Administration; mit einem Ihrer Wiederherstellungscodes können Sie sich weiterhin anmelden."
            )
        )
    return False
