"""The security headers of every response, in one place: the app's pages, downloads, redirects and error pages
(``web._security_headers``) and the admission gate's own 429/503/408 pages (``admission.Admission._refuse``),
which leave the process before Flask sees the request.

No inline scripts or styles, no framing, no content sniffing, the referrer only within the site, and HSTS when
the request came over HTTPS (directly, or through a trusted proxy that says so)."""

from __future__ import annotations

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"


def security_headers(secure: bool, csp: str = CSP) -> list[tuple[str, str]]:
    headers = [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if secure:
        headers.append(("Strict-Transport-Security", HSTS))
    return headers


def forwarded_https(environ: dict, trusted_proxies: int) -> bool:
    """The request came over HTTPS: to this process, or to the ``trusted_proxies``-th proxy in front of it (as
    werkzeug's ProxyFix reads X-Forwarded-Proto; outside ProxyFix, e.g. in the admission middleware)."""
    if environ.get("wsgi.url_scheme") == "https":
        return True
    if trusted_proxies <= 0:
        return False
    values = [v.strip() for v in environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")]
    return len(values) >= trusted_proxies and values[-trusted_proxies] == "https"
