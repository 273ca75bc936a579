"""Offices are kept by admins: created and changed here, each change audited. An office is never deleted: sign-offs,
audit events and past calls keep naming it."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select

from ..audit.trail import record
from ..errors import ActionRefused
from ..extensions import db
from ..policy import check
from ..text import printable
from ..timeutil import now
from .models import Office
from .queries import forget_offices

KEY = re.compile(r"[A-Za-z][A-Za-z0-9]{0,9}")
FIELDS = ("short_name", "name", "head_name", "email", "address", "decides_by_default")


def _clean(value):
    return " ".join(printable(value).split()) if isinstance(value, str) else value


def naming_problems(office: Office | None, key: str | None, short_name: str | None) -> dict[str, str]:
    """What is wrong with an office's key (a new office's only) and short name, by field: both are unique."""
    problems = {}
    if office is None:
        key = (key or "").strip()
        if not KEY.fullmatch(key):
            problems["key"] = _(
                "Das Kürzel besteht aus bis zu 10 Buchstaben und Ziffern und beginnt mit einem Buchstaben."
            )
        elif db.session.scalar(select(Office.id).where(Office.key == key)) is not None:
            problems["key"] = _("Das Kürzel „%(key)s“ ist bereits vergeben.", key=key)
    short_name = _clean(short_name or "")
    if short_name and db.session.scalar(
        select(Office.id).where(Office.short_name == short_name, Office.id != (office.id if office else -1))
    ):
        problems["short_name"] = _(
            "Die Kurzbezeichnung „%(name)s“ hat bereits ein anderes Amt.", name=short_name
        )
    return problems


def save_office(actor, office: Office | None, *, key: str | None = None, **fields) -> Office:
    """Create an office (``office`` None, with its ``key``) or change one (its key stays)."""
    check(actor, "office.manage", office)
    fields = {k: (v.strip() if k == "address" else _clean(v)) for k, v in fields.items() if k in FIELDS}
    if not fields.get("short_name") or not fields.get("name"):
        raise ActionRefused(_("Bitte geben Sie den Namen und die Kurzbezeichnung des Amtes an."))
    if problems := naming_problems(office, key, fields["short_name"]):
        raise ActionRefused(" ".join(problems.values()))
    if office is None:
        office = Office(key=(key or "").strip(), created_at=now(), **fields)
        db.session.add(office)
        db.session.flush()
        record(actor, "create_office", office, data={"key": office.key, **fields})
    else:
        before = {k: getattr(office, k) for k in fields}
        for k, v in fields.items():
            setattr(office, k, v)
        db.session.flush()
        changed = {k: [before[k], v] for k, v in fields.items() if before[k] != v}
        record(actor, "update_office", office, data={"key": office.key, "changed": changed})
    forget_offices()
    return office
