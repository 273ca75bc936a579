"""Links and redirects: the two places where a request could choose an address for the app.

Links for use outside the page (mails, calendar files): :func:`external_url` builds them from the configured
public address ``PUBLIC_URL`` alone, by binding the app's URL map to its scheme, host and path prefix. The
request (its ``Host`` header, which a client chooses freely) plays no part, and no request is needed: the worker
builds mails too. :func:`init_app` makes the setting required outside the embedded default and passes the hosts
the app answers for to Flask's ``TRUSTED_HOSTS`` (a request for another host is a 400 page).

Redirect targets taken from the request (``next`` in the query or a form, the Referer): :func:`same_site_path`
alone decides them. Only a path of this site passes; anything else falls back to the start page
(:func:`redirect_target`).
"""

from __future__ import annotations

import functools
import unicodedata
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, request, url_for

EMBEDDED_PUBLIC_URL = "http://127.0.0.1:5000"  # the address `foerdercall demo --serve` serves by default
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")  # health checks and tests on the machine itself


class ConfigError(RuntimeError):
    """The app cannot start with this configuration (the message names the setting)."""


# --- the public address -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def parse_public_url(value: str) -> tuple[str, str, str]:
    """(scheme, host[:port], path prefix without the trailing slash) of an http(s) address; ValueError with the
    reason for anything else (no host, user info, a query or fragment, spaces or control characters)."""
    if not isinstance(value, str) or any(_unsafe_char(c) for c in value) or "\\" in value:
        raise ValueError("spaces, control characters or backslashes")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("it must start with https:// (or http://)")
    if not parts.hostname or "@" in parts.netloc:
        raise ValueError("it must name a host (and no user)")
    parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError("no query or fragment")
    return parts.scheme, parts.netloc.lower(), parts.path.rstrip("/")


def public_url() -> str:
    """The configured public address, without the trailing slash."""
    return current_app.config["PUBLIC_URL"]


def external_url(endpoint: str, **values) -> str:
    """An absolute link for use outside the page (a mail, a calendar file): always on PUBLIC_URL, whatever the
    request (if any) says about its host."""
    scheme, netloc, prefix = parse_public_url(public_url())
    anchor = values.pop("_anchor", None)
    adapter = current_app.url_map.bind(netloc, script_name=prefix or "/", url_scheme=scheme)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url


def init_app(app: Flask, *, embedded: bool) -> None:
    """PUBLIC_URL and TRUSTED_HOSTS for this app (called by create_app before anything else needs them).

    Embedded default (no database configured) and tests: PUBLIC_URL defaults to the address the demo serves
    (``serve_public_url`` moves it to the host and port given to ``serve``), any Host is answered. Otherwise
    PUBLIC_URL is required, and TRUSTED_HOSTS defaults to PUBLIC_URL's host plus the loopback names."""
    value = (app.config.get("PUBLIC_URL") or "").strip()
    app.config["PUBLIC_URL_DEFAULT"] = not value
    if not value:
        if not (embedded or app.testing):
            raise ConfigError(
                "PUBLIC_URL is not set. Outside the embedded default (DATABASE_URL is set) foerdercall needs the "
                "public address people reach it at, e.g. PUBLIC_URL=https://foerdercall.leipzig.de: every link in "
                "a mail is built from it (never from the request's Host header). Set it for the web processes and "
                "for the worker and beat alike."
            )
        value = EMBEDDED_PUBLIC_URL
    try:
        parse_public_url(value)
    except ValueError as exc:
        raise ConfigError(
            f"PUBLIC_URL={value!r} is not a usable public address: {exc}. "
            "Example: PUBLIC_URL=https://foerdercall.leipzig.de"
        ) from None
    app.config["PUBLIC_URL"] = value.rstrip("/")
    hosts = app.config.get("TRUSTED_HOSTS")
    if isinstance(hosts, str):
        hosts = [h.strip() for h in hosts.split(",") if h.strip()]
    if not hosts:
        hosts = None
        if not (embedded or app.testing):
            hosts = [urlsplit(app.config["PUBLIC_URL"]).hostname, *LOOPBACK_HOSTS]
    app.config["TRUSTED_HOSTS"] = list(hosts) if hosts is not None else None


def serve_public_url(app: Flask, host: str, port: int) -> None:
    """`foerdercall serve --host … --port …`: a defaulted PUBLIC_URL follows the address served (a wildcard
    address: this machine, 127.0.0.1; set PUBLIC_URL for links that work from elsewhere)."""
    if not app.config.get("PUBLIC_URL_DEFAULT"):
        return
    name = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"
    app.config["PUBLIC_URL"] = f"http://{name}:{port}"


# --- redirect targets from the request --------------------------------------------------------------------


def _unsafe_char(c: str) -> bool:
    """Whitespace, control and format characters (also the invisible ones: a right-to-left override, a
    zero-width space, a line separator), unassigned code points and surrogates."""
    return c.isspace() or unicodedata.category(c)[0] in "CZ"


def _plain_path(text: str) -> bool:
    return (
        text.startswith("/")
        and not text.startswith("//")
        and "\\" not in text
        and not any(_unsafe_char(c) for c in text)
    )


def same_site_path(target: object) -> str | None:
    """The one rule for a redirect target the request chose: the target itself when it is a path of this site,
    else None. It must start with a single ``/``; a scheme, a host, ``//``, a backslash anywhere, whitespace or a
    control or format character anywhere fail, also in what percent-decoding (repeated) makes of it."""
    if not isinstance(target, str) or not target or len(target) > 4000:
        return None
    text = target
    for _round in range(4):
        if not _plain_path(text):
            return None
        try:
            decoded = unquote(text, errors="strict") if "%" in text else text
        except UnicodeDecodeError:  # not UTF-8: no path of this site
            return None
        if decoded == text:
            return target
        text = decoded
    return None  # encoded over and over: not a link anyone clicked


def start_page() -> str:
    """The task list (guests: the open calls)."""
    return url_for("tasks.home")


def redirect_target(target: object) -> str:
    """Where to go after a login, a language switch, a parked-text page: the request's target if it is a path of
    this site, else the start page."""
    return same_site_path(target) or start_page()


def _own_origins() -> set[tuple[str, str]]:
    """(scheme, host) of this site: the public address, and the address of this request (a host Flask's
    TRUSTED_HOSTS admitted; only a path is ever taken from a URL on it)."""
    scheme, netloc, _prefix = parse_public_url(public_url())
    return {(scheme, netloc), (request.scheme, request.host.lower())}


def same_origin(url: str | None) -> bool:
    """The URL (an Origin or Referer header) is on this site."""
    if not url or "\\" in url or any(_unsafe_char(c) for c in url):  # urlsplit would drop tabs silently
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return bool(parts.scheme) and (parts.scheme.lower(), parts.netloc.lower()) in _own_origins()


def referrer_target() -> str | None:
    """The page the request came from (its Referer), as a path of this site, or None."""
    referrer = request.headers.get("Referer")
    if referrer is None or not same_origin(referrer):
        return None
    parts = urlsplit(referrer)
    return same_site_path(parts.path + (f"?{parts.query}" if parts.query else ""))


def current_path() -> str:
    """This request's path and query as a `next` target (percent-encoded, with the app's path prefix)."""
    parts = urlsplit(request.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
