"""Read queries about offices. Pages show an office by its short name: ``office_label`` reads all offices once per
request (there are a handful) and keeps their values, not the rows (a commit expires rows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import g, has_app_context
from sqlalchemy import select

from ..extensions import db
from .models import Office


def all_offices() -> list[Office]:
    """In the order they were created: a new call lists its deciding offices so, and the first is the lead office
    (the address for objections)."""
    return list(db.session.scalars(select(Office).order_by(Office.id)))


@dataclass(frozen=True)
class OfficeInfo:
    key: str
    short_name: str
    name: str
    head_name: str
    email: str
    address: str


def _by_key() -> dict[str, OfficeInfo]:
    if has_app_context() and "offices_by_key" in g:
        return g.offices_by_key
    found = {
        o.key: OfficeInfo(o.key, o.short_name, o.name, o.head_name, o.email, o.address) for o in all_offices()
    }
    if has_app_context():
        g.offices_by_key = found
    return found


def forget_offices() -> None:
    """After an office was saved: the next label is read again."""
    if has_app_context():
        g.pop("offices_by_key", None)


def office_keys() -> list[str]:
    return [o.key for o in all_offices()]


def office_by_key(key: str | None) -> OfficeInfo | None:
    return _by_key().get(key) if key else None


def office_label(key: str | None) -> str:
    """The short name pages show, the key for an office no longer kept, "–" for none."""
    if not key:
        return "–"
    office = _by_key().get(key)
    return office.short_name if office else key


def office_labels(keys: Iterable[str]) -> str:
    return ", ".join(office_label(k) for k in keys)


def office_names(keys: Iterable[str]) -> list[str]:
    """Full names, for documents and the privacy notice."""
    by_key = _by_key()
    return [by_key[k].name if k in by_key else k for k in keys]


def default_deciding_offices() -> list[str]:
    return [o.key for o in all_offices() if o.decides_by_default]


def offices_named(keys: Iterable[str], lang: str = "de") -> str:
    """The full names as a sentence names them: "A, B und C" ("and" in English)."""
    names = office_names(keys)
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {'and' if lang == 'en' else 'und'} {names[-1]}"


def lead_office(call) -> OfficeInfo | None:
    """The first of a call's deciding offices: its documents name it for objections and legal remedies."""
    return next((o for k in call.deciding_offices or [] if (o := office_by_key(k)) is not None), None)
