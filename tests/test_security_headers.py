"""Every page carries the security headers: a Content-Security-Policy without inline scripts or styles, no
framing, no content sniffing; HSTS only over HTTPS."""
from __future__ import annotations

import re

from conftest import login


def test_pages_carry_the_security_headers(app, world):
    client = app.test_client()
    for url in ("/", "/calls", "/login", "/nicht-da"):
        resp = client.get(url)
        csp = resp.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in resp.headers
    assert "max-age=" in client.get("/calls", base_url="https://foerdercall.test").headers[
        "Strict-Transport-Security"]


def test_no_page_needs_inline_script_or_style(app, world):
    """What the policy forbids must not be in the pages (it would silently not work in a browser)."""
    client = app.test_client()
    login(client, world.ka.email)
    for url in ("/calls", f"/calls/{world.call.id}", "/outbox", "/worker", "/proposals/mine"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert not re.search(r"\sstyle=|\son[a-z]+=", html), url
