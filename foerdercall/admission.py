"""Admission control: past capacity the app says so at once (503 + Retry-After) instead of queueing requests
into timeouts, and slow clients cannot starve the others.

A WSGI middleware around the Flask app, one per process, configured from ``ADMISSION_*`` (``config.py``):

- **Bounded work.** At most ``ADMISSION_MAX_REQUESTS`` requests are in the app at once. What is under way is
  preferred: a form posted by a logged-in person (it carries a session cookie) may use the whole bound plus
  ``ADMISSION_POST_RESERVE``; a page view the bound; a new login (an argon2 hash each) only
  ``ADMISSION_MAX_LOGINS``. Past its bound a request is answered at once with 503 and ``Retry-After``
  (a short German/English page, JSON for JSON clients); nothing is queued. Only a login may wait up to
  ``ADMISSION_LOGIN_WAIT_SECONDS`` for the process to drop below the login bound, so that the moments when a
  few requests happen to arrive together do not refuse logins (429) while the machine has room.
- **The login gate.** With ``ADMISSION_LOGIN_GATE_SECONDS``, new logins are refused (429, the login page
  included, so nobody types a password in vain) while the requests of people already logged in take too long:
  nine in ten of the (at least ten) requests that left the app in the last second took more than that many
  seconds in it. A process below its bounds does not mean the machine has room (several processes share the
  CPUs); slow answers say that it has none. Keeping newcomers out for a moment lets those inside finish
  quickly: under twice the load the machine can carry, admitted requests stay fast instead of all slowing down
  together, and logins are admitted again as soon as the answers are fast. The gate also keeps the login
  pages shut for REFUSED_LOGIN_WINDOW seconds after a login post was turned away for want of a slot: a page
  given out then would most likely end in a 429 after the password was typed, and rendering it costs what the posts of
  the people who already have a page need (at 100 submissions/s offered, 5,300 login pages were rendered for
  700 completed logins).
- **Bodies before slots.** A request body is read completely (spooled to a temporary file past 2 MiB) before
  the request takes a slot, so a slow upload does not hold one. At most ``ADMISSION_MAX_UPLOADS`` bodies are
  read at once (a thread each); while reading, the socket has a timeout of ``ADMISSION_BODY_TIMEOUT_SECONDS``
  between two packets: a client that stalls is answered with 408 and dropped. Bodies larger than
  ``MAX_CONTENT_LENGTH`` are left to the app (a 413 page) without being read.
- **Stale requests.** With ``ADMISSION_MAX_QUEUE_SECONDS`` and a proxy that sets ``X-Request-Start``
  (nginx: ``proxy_set_header X-Request-Start "t=${msec}";``), a request that waited longer than that before
  the app saw it is shed: its client has most likely given up.
- Static files and ``/health`` are never shed.

``ADMISSION_MAX_REQUESTS=0`` (the embedded default and the tests) leaves the app as it is. The bound is per
process: with gunicorn's gthread workers, run more threads than the bound (``deploy/gunicorn.conf.py``), so
that a request is picked up at once and either admitted or shed in a millisecond.
"""

from __future__ import annotations

import json
import logging
import socket
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from .headers import forwarded_https, security_headers

log = logging.getLogger(__name__)

LOGIN_PATHS = ("/login", "/login/two-factor", "/register", "/password/forgot")
EXEMPT_PREFIXES = ("/static/", "/health")
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CHUNK = 64 * 1024
# Bodies up to this size stay in memory (at most ADMISSION_MAX_UPLOADS of them per process are read at once):
# a 1 MB PDF with its form (just over 1 MiB) passed through a temporary file on disk cost 0.6 ms CPU more each.
SPOOL = 2 * 1024 * 1024
# the login gate looks at the requests that left the app within GATE_WINDOW seconds, if there are at least
# GATE_MIN_REQUESTS of them (one slow export in a quiet hour closes nothing), and at their GATE_QUANTILE
GATE_WINDOW = 1.0
GATE_MIN_REQUESTS = 10
GATE_QUANTILE = 0.9
# and keeps the login pages shut for this long after a login post was turned away (1 s left the CPUs a quarter
# idle at 100 submissions/s offered)
REFUSED_LOGIN_WINDOW = 0.25

PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{code} – foerdercall</title></head>
<body><main>
<h1>{de_title}</h1>
<p>{de_text}</p>
<div lang="en"><h2>{en_title}</h2><p>{en_text}</p></div>
</main></body></html>
"""

TEXTS = {
    503: (
        "Gerade sind sehr viele Anfragen gleichzeitig da",
        "Bitte versuchen Sie es in {s} Sekunden noch einmal. Bereits gespeicherte Entwürfe bleiben erhalten.",
        "Too many requests at the moment",
        "Please try again in {s} seconds. Drafts you have saved are kept.",
    ),
    429: (
        "Gerade melden sich sehr viele Personen gleichzeitig an",
        "Bitte versuchen Sie es in {s} Sekunden noch einmal.",
        "Too many sign-ins at the moment",
        "Please try again in {s} seconds.",
    ),
    400: (
        "Die Anfrage war unvollständig",
        "Das Formular kam nicht vollständig an. Bitte senden Sie es noch einmal.",
        "The request was incomplete",
        "The form did not arrive completely. Please send it again.",
    ),
    408: (
        "Die Übertragung hat zu lange gestockt",
        "Es kamen zu lange keine Daten an. Bitte senden Sie das Formular noch einmal.",
        "The upload stalled",
        "No data arrived for too long. Please send the form again.",
    ),
}


class _Body(Exception):
    def __init__(self, code: int):
        self.code = code


class Admission:
    """The middleware (see the module's docstring). Counters are per process and guarded by one lock."""

    def __init__(
        self,
        app: Callable,
        *,
        max_requests: int,
        max_logins: int = 0,
        post_reserve: int = 0,
        max_uploads: int = 0,
        body_timeout: float = 30.0,
        max_queue_seconds: float = 0.0,
        retry_after: int = 5,
        max_body: int | None = None,
        session_cookie: str = "session",
        login_wait: float = 0.0,
        login_gate: float = 0.0,
        trusted_proxies: int = 0,
    ):
        self.app = app
        self.trusted_proxies = trusted_proxies  # to tell HTTPS behind a proxy (this runs outside ProxyFix)
        self.max_requests = max_requests
        self.max_logins = max_logins or max(1, max_requests // 4)
        self.max_posts = max_requests + max(0, post_reserve)
        self.max_uploads = max_uploads or max_requests
        self.body_timeout = body_timeout
        self.max_queue_seconds = max_queue_seconds
        self.retry_after = retry_after
        self.max_body = max_body
        self.session_cookie = session_cookie + "="
        self.login_wait = login_wait
        self.login_gate = login_gate
        # (left at, seconds in the app) of the requests of people already in: not the login pages and posts
        self.recent: deque[tuple[float, float]] = deque(maxlen=64)
        self.lock = threading.Lock()
        self.released = threading.Condition(self.lock)  # notified when a request leaves the app
        self.in_app = 0
        self.reading = 0
        self.shed = 0  # answered without work, since the process started (logged now and then)
        self.login_refused_at = float("-inf")  # when a login post was last turned away for want of a slot

    @classmethod
    def from_config(cls, app: Callable, config) -> Admission:
        return cls(
            app,
            max_requests=config["ADMISSION_MAX_REQUESTS"],
            max_logins=config["ADMISSION_MAX_LOGINS"],
            post_reserve=config["ADMISSION_POST_RESERVE"],
            max_uploads=config["ADMISSION_MAX_UPLOADS"],
            body_timeout=config["ADMISSION_BODY_TIMEOUT_SECONDS"],
            max_queue_seconds=config["ADMISSION_MAX_QUEUE_SECONDS"],
            retry_after=config["ADMISSION_RETRY_AFTER_SECONDS"],
            max_body=config["MAX_CONTENT_LENGTH"],
            session_cookie=config["SESSION_COOKIE_NAME"],
            login_wait=config["ADMISSION_LOGIN_WAIT_SECONDS"],
            login_gate=config["ADMISSION_LOGIN_GATE_SECONDS"],
            trusted_proxies=config["TRUSTED_PROXIES"],
        )

    # --- the WSGI entry ---------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(EXEMPT_PREFIXES):
            return self.app(environ, start_response)
        if self._stale(environ):
            return self._refuse(environ, start_response, 503)
        method = environ.get("REQUEST_METHOD", "GET")
        if path in LOGIN_PATHS and self._gate_closed(page=method not in BODY_METHODS):
            return self._refuse(environ, start_response, 429)  # before a body is read or a page is rendered
        body = None
        if method in BODY_METHODS:
            try:
                body = self._read_body(environ)
            except _Body as exc:
                return self._refuse(environ, start_response, exc.code)
        login = method == "POST" and path in LOGIN_PATHS
        limit = (
            self.max_logins
            if login
            else self.max_posts
            if method in BODY_METHODS and self.session_cookie in environ.get("HTTP_COOKIE", "")
            else self.max_requests
        )
        with self.lock:
            if login and self.in_app >= limit and self.login_wait > 0:
                self.released.wait_for(lambda: self.in_app < limit, timeout=self.login_wait)
            if self.in_app >= limit:
                self.shed += 1
                admitted = False
                if login:
                    self.login_refused_at = time.monotonic()
            else:
                self.in_app += 1
                admitted = True
        if not admitted:
            if body is not None:
                body.close()
            return self._refuse(environ, start_response, 429 if login else 503)

        entered = time.monotonic()

        def release() -> None:
            self._release(None if path in LOGIN_PATHS else entered)
            if body is not None:  # the spooled body (its temporary file, if any) goes with the request
                body.close()

        try:
            result = self.app(environ, start_response)
        except BaseException:
            release()
            raise
        return _Closing(result, release)

    def _release(self, entered: float | None) -> None:
        with self.lock:
            self.in_app -= 1
            self.released.notify()
            if entered is not None:
                left = time.monotonic()
                self.recent.append((left, left - entered))

    def _gate_closed(self, page: bool) -> bool:
        """The login gate (see the module's docstring): shut while the requests that left the app in the last
        GATE_WINDOW seconds took longer than ``login_gate`` at their GATE_QUANTILE, and for a login ``page``
        while a login post was turned away in the last REFUSED_LOGIN_WINDOW seconds. Counts as shed."""
        if not self.login_gate:
            return False
        t = time.monotonic()
        since = t - GATE_WINDOW
        with self.lock:
            if page and self.login_refused_at >= t - REFUSED_LOGIN_WINDOW:
                self.shed += 1
                return True
            times = sorted(d for left, d in self.recent if left >= since)
            if len(times) < GATE_MIN_REQUESTS or times[int(len(times) * GATE_QUANTILE)] <= self.login_gate:
                return False
            self.shed += 1
            return True

    # --- the body, before a slot is taken ------------------------------------------------------------------

    def _read_body(self, environ: dict):
        """Read the body into a spool that replaces ``wsgi.input``; returns it (closed by the caller), or None."""
        chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None  # the app answers 400
        if (not length and not chunked) or (self.max_body is not None and length > self.max_body):
            return None  # nothing to read, or too large: the app answers 413 without reading it
        with self.lock:
            if self.reading >= self.max_uploads:
                self.shed += 1
                raise _Body(503)
            self.reading += 1
        sock = environ.get("gunicorn.socket")
        old_timeout = None
        spool = None
        handed = False
        try:
            if isinstance(sock, socket.socket):
                old_timeout = sock.gettimeout()
                sock.settimeout(self.body_timeout)
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)
            stream = environ["wsgi.input"]
            total = 0
            while chunked or total < length:
                data = stream.read(CHUNK if chunked else min(CHUNK, length - total))
                if not data:
                    break
                total += len(data)
                if self.max_body is not None and total > self.max_body:
                    environ["CONTENT_LENGTH"] = str(total)  # the app's 413
                    environ["wsgi.input"] = _Empty()
                    return None
                spool.write(data)
            spool.seek(0)
            environ["wsgi.input"] = spool
            environ["CONTENT_LENGTH"] = str(total)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            handed = True
            return spool
        except TimeoutError as exc:
            raise _Body(408) from exc
        except OSError as exc:  # the client went away
            log.debug("client gone while sending its body: %s", exc)
            raise _Body(408) from exc
        except Exception as exc:  # noqa: BLE001 - the server's reader refused the body (a broken chunk)
            log.info("unreadable request body: %s", exc)
            raise _Body(400) from exc
        finally:
            if spool is not None and not handed:  # refused or too large: its temporary file goes now
                spool.close()
            if isinstance(sock, socket.socket):
                try:
                    sock.settimeout(old_timeout)
                except OSError:
                    pass
            with self.lock:
                self.reading -= 1

    def _stale(self, environ: dict) -> bool:
        """The request waited longer than allowed in front of the app (nginx's X-Request-Start: t=<seconds>)."""
        if not self.max_queue_seconds:
            return False
        raw = environ.get("HTTP_X_REQUEST_START", "").removeprefix("t=")
        try:
            start = float(raw)
        except ValueError:
            return False
        if start > 1e14:  # microseconds (Heroku style)
            start /= 1e6
        elif start > 1e11:  # milliseconds
            start /= 1e3
        return time.time() - start > self.max_queue_seconds

    # --- the refusal --------------------------------------------------------------------------------------

    def _refuse(self, environ: dict, start_response: Callable, code: int) -> list[bytes]:
        reason = {
            503: "Service Unavailable",
            429: "Too Many Requests",
            408: "Request Timeout",
            400: "Bad Request",
        }[code]
        de_title, de_text, en_title, en_text = TEXTS[code]
        accept = environ.get("HTTP_ACCEPT", "")
        if "application/json" in accept and "text/html" not in accept:
            body = json.dumps(
                {
                    "error": en_title,
                    "message": en_text.format(s=self.retry_after),
                    "retry_after": self.retry_after,
                }
            ).encode()
            ctype = "application/json"
        else:
            body = PAGE.format(
                code=code,
                de_title=de_title,
                de_text=de_text.format(s=self.retry_after),
                en_title=en_title,
                en_text=en_text.format(s=self.retry_after),
            ).encode()
            ctype = "text/html; charset=utf-8"
        headers = [
            ("Content-Type", ctype),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *security_headers(
                forwarded_https(environ, self.trusted_proxies),
                csp="default-src 'none'; frame-ancestors 'none'",
            ),
        ]
        if code in (503, 429):
            headers.append(("Retry-After", str(self.retry_after)))
        else:
            headers.append(("Connection", "close"))
        if self.shed and self.shed % 100 == 1:
            log.warning(
                "admission: %s requests shed so far (in the app now: %s, reading bodies: %s)",
                self.shed,
                self.in_app,
                self.reading,
            )
        start_response(f"{code} {reason}", headers)
        return [body]


class _Empty:
    def read(self, *args) -> bytes:
        return b""

    def readline(self, *args) -> bytes:
        return b""


class _Closing:
    """The app's response iterable; the slot is given back when the server closes it (after the last byte)."""

    def __init__(self, result: Iterable[bytes], release: Callable[[], None]):
        self.result = result
        self.release = release
        self.released = False

    def __iter__(self):
        return iter(self.result)

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            if not self.released:
                self.released = True
                self.release()
