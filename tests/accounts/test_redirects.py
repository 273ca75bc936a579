"""Every redirect to a target the request chose (``next`` in the query or a form, the Referer) goes to a path of
this site, or to the start page: never to another host (an open redirect after the login is a phishing tool),
never a 500 (a line break in the Location header)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from account_helpers import totp_code, turn_on_two_factor
from conftest import PASSWORD, login

from foerdercall.extensions import db
from foerdercall.parking.operations import browser_key, park
from foerdercall.proposals.operations import start_draft

START = "/"  # the start page: the task list (guests are sent on to the calls)
GOOD = "/calls/1?x=1"

# what arrives in the request's `next` (already decoded once from the query or the form)
HOSTILE = [
    "/%09/evil.example",
    "/\t/evil.example",
    "/\tevil",
    "/\\evil.example",
    "\\\\evil.example",
    "/%5Cevil.example",
    "//evil.example",
    "///evil.example",
    "/%2F/evil.example",
    "%2F%2Fevil",
    "https://evil.example",
    "http:evil.example",
    "HTTPS://evil.example/x",
    "javascript:alert(1)",
    "data:text/html,x",
    "/%0Aabc",
    "/\nabc",
    "/\r\nSet-Cookie: a=b",
    "/%0D%0ASet-Cookie:%20a=b",
    " /x",
    "/x y",
    "/x%20y",
    "/%E2%80%AEx",
    "/\u202ex",
    "/\u2028x",
    "/\u3000x",
    "/\u00a0x",
    "/%00x",
    "/%252F%252Fevil.example",
    "/%5C%5Cevil.example",
    "evil.example",
    "calls/1",
    "",
    ".",
    "../x",
]
# (a NUL, other C0/C1 controls and lone surrogates never reach a view: web._clean_input removes them)


def referers(target: str) -> list[str]:
    """Forged Referers for a target (a header cannot carry a line break)."""
    if "\r" in target or "\n" in target:
        return ["https://evil.example/calls/"]
    return [target, "https://evil.example/calls/", "http://foerdercall.test" + target]


def assert_same_site(resp, expected: str | None = START) -> str:
    """A redirect (never a 500) to a path of this site: one leading slash, no backslash, no whitespace or
    control character, also when decoded; `expected` when given."""
    assert resp.status_code in (302, 303), (resp.status_code, resp.get_data(as_text=True)[:300])
    location = resp.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    for text in (location, unquote(location)):
        assert text.startswith("/") and not text.startswith("//"), location
        assert "\\" not in text, location
        assert not any(unicodedata.category(c)[0] in "CZ" for c in text), location
    if expected is not None:
        assert location == expected, location
    return location


def _next_of(location: str) -> str | None:
    values = parse_qs(urlsplit(location).query).get("next")
    return values[0] if values else None


@pytest.mark.parametrize("target", HOSTILE)
def test_login_falls_back_to_the_start_page(app, world, target):
    resp = app.test_client().post(
        "/login", query_string={"next": target}, data={"email": "app@x.test", "password": PASSWORD}
    )
    assert_same_site(resp)


@pytest.mark.sqlite_only  # the rule does not depend on the database; the login runs on both
@pytest.mark.parametrize("target", HOSTILE)
def test_login_with_the_second_factor_falls_back_to_the_start_page(app, world, clock, target):
    secret, _codes = turn_on_two_factor(app, "ka@x.test")
    clock.advance(minutes=1)  # a fresh code
    client = app.test_client()
    resp = client.post(
        "/login", query_string={"next": target}, data={"email": "ka@x.test", "password": PASSWORD}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/login/two-factor"
    assert_same_site(client.post("/login/two-factor", data={"code": totp_code(secret)}))


@pytest.mark.sqlite_only  # the rule does not depend on the database; the login runs on both
@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_falls_back_to_the_start_page(app, world, target):
    assert_same_site(app.test_client().post("/language", data={"lang": "en", "next": target}))


def _park_for(client, world) -> int:
    """Text parked by this browser for the applicant's draft (as a refused post would have left it)."""
    p = start_draft(world.call, world.applicant)
    value = "b" * 40
    row = park(
        browser_key(value),
        world.applicant.id,
        "proposals.edit",
        p.id,
        {"description": "Lange getippt"},
        False,
    )
    db.session.commit()
    client.set_cookie("fc_parked", value, domain="foerdercall.test")
    return row.id


@pytest.mark.sqlite_only  # the rule does not depend on the database; the login runs on both
@pytest.mark.parametrize("target", HOSTILE)
def test_the_parked_text_page_and_its_buttons_keep_to_this_site(app, world, target):
    client = app.test_client()
    login(client, "app@x.test")
    # nothing parked: the page sends the person on to `next`
    assert_same_site(client.get("/parked", query_string={"next": target}))
    # something parked: the login goes to the parked page first, carrying only a safe `next`
    parked = _park_for(client, world)
    client.post("/logout")
    resp = client.post(
        "/login", query_string={"next": target}, data={"email": "app@x.test", "password": PASSWORD}
    )
    location = assert_same_site(resp, expected=None)
    assert urlsplit(location).path == "/parked" and _next_of(location) is None, location
    # the page's "go on" link and its discard button do not carry the target either
    page = client.get("/parked", query_string={"next": target})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    go_on = re.search(r'<a href="([^"]*)">Weiter, ohne zu übernehmen', html).group(1)
    discard = re.search(r'action="(/parked/\d+/discard[^"]*)"', html).group(1)
    assert go_on == "/calls" and discard == f"/parked/{parked}/discard", (go_on, discard)
    resp = client.post(f"/parked/{parked}/discard", query_string={"next": target}, data={})
    location = assert_same_site(resp, expected=None)
    assert _next_of(location) is None, location


@pytest.mark.sqlite_only  # the rule does not depend on the database; the login runs on both
@pytest.mark.parametrize("target", HOSTILE)
def test_a_refused_action_with_a_forged_referer_goes_to_the_start_page(app, world, target):
    client = app.test_client()
    login(client, "app@x.test")
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    for referer in referers(target):
        # an answer to a request that is not open: refused by fire(), back to the page it came from
        resp = client.post(f"/proposals/{p.id}/answer", data={"answer": "x"}, headers={"Referer": referer})
        assert_same_site(resp)


@pytest.mark.sqlite_only  # the rule does not depend on the database; the login runs on both
@pytest.mark.parametrize("target", HOSTILE)
def test_the_neutrality_declaration_with_a_forged_referer_keeps_to_this_site(app, world, target):
    client = app.test_client()
    login(client, "rev1@x.test")
    for referer in referers(target):
        resp = client.post(
            f"/calls/{world.call.id}/neutrality", data={"confirm": "y"}, headers={"Referer": referer}
        )
        assert_same_site(resp, expected="/reviews")


def test_a_good_target_is_kept_everywhere(app, world, clock):
    client = app.test_client()
    resp = client.post(
        "/login", query_string={"next": GOOD}, data={"email": "app@x.test", "password": PASSWORD}
    )
    assert_same_site(resp, expected=GOOD)
    assert_same_site(client.post("/language", data={"lang": "en", "next": GOOD}), expected=GOOD)
    assert_same_site(client.get("/parked", query_string={"next": GOOD}), expected=GOOD)
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    back = f"/proposals/{p.id}?tab=1"
    resp = client.post(
        f"/proposals/{p.id}/answer",
        data={"answer": "x"},
        headers={"Referer": "http://foerdercall.test" + back},
    )
    assert_same_site(resp, expected=back)
    # the parked page carries a good target on and offers it as the way on
    parked = _park_for(client, world)
    client.post("/logout")
    resp = client.post(
        "/login", query_string={"next": GOOD}, data={"email": "app@x.test", "password": PASSWORD}
    )
    location = assert_same_site(resp, expected=None)
    assert urlsplit(location).path == "/parked" and _next_of(location) == GOOD
    assert 'href="/calls/1?x=1"' in client.get(location).get_data(as_text=True)
    resp = client.post(f"/parked/{parked}/discard", query_string={"next": GOOD}, data={})
    assert _next_of(assert_same_site(resp, expected=None)) == GOOD
    # with the second factor
    secret, _codes = turn_on_two_factor(app, "ka@x.test")
    clock.advance(minutes=1)
    client = app.test_client()
    client.post("/login", query_string={"next": GOOD}, data={"email": "ka@x.test", "password": PASSWORD})
    assert_same_site(client.post("/login/two-factor", data={"code": totp_code(secret)}), expected=GOOD)


@pytest.mark.sqlite_only  # the rule does not depend on the database; the login runs on both
@pytest.mark.parametrize("target", HOSTILE)
def test_the_one_function(app, target):
    from foerdercall.urls import same_site_path

    assert same_site_path(target) is None
    assert same_site_path(GOOD) == GOOD and same_site_path("/") == "/"
    assert same_site_path("/calls/?q=M%C3%BCll") == "/calls/?q=M%C3%BCll"
