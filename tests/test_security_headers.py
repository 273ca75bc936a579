"""Every page carries the security headers: a Content-Security-Policy without inline scripts or styles, no
framing, no content sniffing; HSTS only over HTTPS."""

from __future__ import annotations

import re
from types import SimpleNamespace

from conftest import login
from test_permissions import opened  # noqa: F401 (the matrix's world: a fixture)

from foerdercall.extensions import db


def test_pages_carry_the_security_headers(app, world):
    client = app.test_client()
    for url in ("/", "/calls", "/login", "/nicht-da"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in resp.headers
    assert (
        "max-age="
        in client.get("/calls", base_url="https://foerdercall.test").headers["Strict-Transport-Security"]
    )


def test_no_page_needs_inline_script_or_style(app, world):
    """What the policy forbids must not be in the pages (it would silently not work in a browser)."""
    client = app.test_client()
    login(client, world.ka.email)
    for url in ("/calls", f"/calls/{world.call.id}", "/outbox", "/worker", "/proposals/mine"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert not re.search(r"\sstyle=|\son[a-z]+=", html), url


# --- every route (issue 17: "the security headers get a test on every route") ----------------------------------

HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Strict-Transport-Security",
)
HTTPS = "https://foerdercall.test"


def header_problems(resp, what: str, https: bool = True) -> list[str]:
    h = resp.headers
    problems = [f"{what}: no {name}" for name in HEADERS[:4] if name not in h]
    if "Content-Security-Policy" in h and (
        "frame-ancestors 'none'" not in h["Content-Security-Policy"]
        or "'unsafe-inline'" in h["Content-Security-Policy"]
    ):
        problems.append(f"{what}: Content-Security-Policy {h['Content-Security-Policy']!r}")
    if h.get("X-Content-Type-Options", "nosniff") != "nosniff":
        problems.append(f"{what}: X-Content-Type-Options {h['X-Content-Type-Options']!r}")
    if h.get("X-Frame-Options", "DENY") != "DENY":
        problems.append(f"{what}: X-Frame-Options {h['X-Frame-Options']!r}")
    if h.get("Referrer-Policy", "same-origin") not in ("same-origin", "no-referrer", "strict-origin"):
        problems.append(f"{what}: Referrer-Policy {h['Referrer-Policy']!r}")
    hsts = h.get("Strict-Transport-Security", "")
    if https and "max-age=31536000" not in hsts:
        problems.append(f"{what}: no Strict-Transport-Security over HTTPS")
    if not https and hsts:
        problems.append(f"{what}: Strict-Transport-Security over plain HTTP")
    return problems


def test_every_route_carries_the_security_headers(app, request):
    """Every route of the URL map (the permission matrix's cases: tests/test_permissions.py fails for a route
    without one), over HTTPS: as the role that may use it (pages, downloads, redirects after a post) and as an
    anonymous visitor (the redirect to the login page, or the page itself)."""
    from test_permissions import ACCESS, CASES, RULES, _data, _fill, client_for

    def permitted(endpoint: str) -> str:
        allowed = RULES[ACCESS[endpoint]]
        return next(
            r for r in ("official_ka", "owner", "reviewer_assigned", "admin", "advisor") if r in allowed
        )

    ids = request.getfixturevalue("opened").ids
    clients, problems, covered = {}, [], set()
    for case in CASES:
        for role in dict.fromkeys([permitted(case.endpoint), "anonymous"]):
            if role not in clients:
                clients[role] = client_for(app, role)
            db.session.commit()
            with app.app_context():
                resp = clients[role].open(
                    _fill(case.url, ids), method=case.method, data=_data(case.data, ids), base_url=HTTPS
                )
                resp.close()
            db.session.expire_all()
            problems += header_problems(resp, f"{role}: {case.method} {case.url} -> {resp.status_code}")
            covered.add((case.endpoint, case.method))
    wanted = {
        (r.endpoint, m)
        for r in app.url_map.iter_rules()
        if r.endpoint != "static"
        for m in r.methods - {"HEAD", "OPTIONS"}
    }
    assert wanted - covered == set(), "routes without a security-header check"
    assert problems == []


def test_error_pages_and_the_admission_gate_carry_the_security_headers(app, world):
    """400, 403, 404, 405, 413, 429, 500, 503 from the app, and the admission gate's own 503/429/408/400 pages
    (they leave the process before Flask sees the request): over HTTPS with HSTS, over HTTP without."""
    import time

    from flask import abort
    from sqlalchemy.exc import OperationalError
    from werkzeug.test import Client

    from foerdercall.admission import Admission

    def db_down():
        raise OperationalError("SELECT 1", {}, Exception("gone"))

    app.add_url_rule("/test/500", "test_500", lambda: abort(500))
    app.add_url_rule("/test/503", "test_503", db_down)
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024)
    problems = []
    for https in (True, False):
        base = HTTPS if https else "http://foerdercall.test"
        client = app.test_client()
        db.session.commit()
        with app.app_context():
            seen = {
                400: client.get("/verify/not-a-token", base_url=base),
                404: client.get("/nicht-da", base_url=base),
                405: client.get("/logout", base_url=base),
                413: client.post("/login", data={"x": "y" * 100_000}, base_url=base),
                500: client.get("/test/500", base_url=base),
                503: client.get("/test/503", base_url=base),
            }
            login(client, "app@x.test")
            seen[403] = client.get("/calls/new", base_url=base)
            for _ in range(20):  # wrong passwords until the login is throttled
                resp = client.post(
                    "/login", data={"email": f"ka{https}@x.test", "password": "falsch-falsch"}, base_url=base
                )
                if resp.status_code == 429:
                    break
            seen[429] = resp
        # shed by the gate: the request waited in the proxy's queue longer than max_queue_seconds
        gated = Client(Admission(app.wsgi_app, max_requests=4, max_queue_seconds=1))
        seen["gate 503"] = gated.get(
            "/calls", base_url=base, headers={"X-Request-Start": f"t={time.time() - 30:.3f}"}
        )
        for code, resp in seen.items():
            assert resp.status_code == (code if isinstance(code, int) else 503), (code, resp.status_code)
            problems += header_problems(resp, f"{base} {code}", https=https)
    # the gate's other refusals, through the same function
    for code in (429, 503, 408, 400):
        for https in (True, False):
            problems += header_problems(
                _refused(
                    Admission(app.wsgi_app, max_requests=1),
                    code,
                    {"wsgi.url_scheme": "https" if https else "http"},
                ),
                f"gate {code}",
                https=https,
            )
    # behind a trusted proxy that ended HTTPS, the gate's page says so as well (it runs outside ProxyFix)
    resp = _refused(
        Admission(app.wsgi_app, max_requests=1, trusted_proxies=1),
        503,
        {"wsgi.url_scheme": "http", "HTTP_X_FORWARDED_PROTO": "https"},
    )
    assert "Strict-Transport-Security" in resp.headers
    assert problems == []


def _refused(gate, code: int, environ: dict):
    got = {}
    gate._refuse(environ, lambda status, headers: got.update(headers), code)
    return SimpleNamespace(headers=got)
