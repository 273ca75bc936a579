"""The browser's side of parked text: its cookie, and where a fresh login goes when text is waiting."""

from __future__ import annotations

from flask import request, url_for
from flask_login import current_user

from ..urls import same_site_path, start_page
from .operations import browser_key, parked_for

COOKIE = "fc_parked"


def browser_parking_key() -> str | None:
    """The key of the text this browser parked (its cookie), if it sent a plausible one."""
    value = request.cookies.get(COOKIE, "")
    return browser_key(value) if 20 <= len(value) <= 100 else None


def after_login(target: str | None) -> str:
    """Where a fresh login goes (``target``: a path of this site, or None for the start page): the parked text
    first, if this browser kept some for this person."""
    target = same_site_path(target)
    if parked_for(browser_parking_key(), current_user) and not (target or "").startswith(
        url_for("parking.index")
    ):
        return url_for("parking.index", next=target)
    return target or start_page()
