"""The API's writes and the admins' token page fuzzed: any JSON (or none) to the payment and value endpoints with a
token of every scope, hostile form fields to the token page: never a 500, and a refused request changes nothing but
the audit of the token's use."""

from __future__ import annotations

from conftest import login
from hypothesis import strategies as st
from sqlalchemy import select
from test_fuzz_forms import HOSTILE, fields, fingerprint, fuzz, post
from test_fuzz_implementation import _in_implementation

from foerdercall.api.models import ApiToken
from foerdercall.api.operations import create_token
from foerdercall.extensions import db

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=8,
)
KEYS = st.sampled_from(["participants", "jobs", "visitors", "", "0"])
BODY = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {},
        optional={
            "amount_cents": st.one_of(st.integers(), JSON),
            "reference": st.one_of(HOSTILE, JSON),
            "note": st.one_of(HOSTILE, JSON),
            "values": st.one_of(
                st.dictionaries(KEYS, st.one_of(st.integers(), st.floats(), HOSTILE), max_size=3), JSON
            ),
            "comments": st.one_of(st.dictionaries(KEYS, HOSTILE, max_size=2), JSON),
        },
    ),
)


def _unchanged_but_audit(before: dict, after: dict) -> bool:
    skip = {"audit_events", "audit_chain_head", "api_tokens"}  # a token's use: its audit and last use
    return {k: v for k, v in before.items() if k not in skip} == {
        k: v for k, v in after.items() if k not in skip
    }


def test_the_api_writes(app, world, clock, backend):
    p = _in_implementation(world, clock)
    _token, secret = create_token(
        world.admin, world.ka, "Fuzz", ["read", "payments:write", "indicators:write"]
    )
    db.session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}

    def body(data):
        for url in (f"/api/v1/proposals/{p.id}/payments", f"/api/v1/proposals/{p.id}/indicator-values"):
            db.session.commit()
            before = fingerprint()
            resp = client.post(url, json=data, headers=headers)
            db.session.rollback()
            assert resp.status_code < 500, (url, data, resp.status_code)
            assert resp.headers["Content-Type"].startswith(("application/json", "application/problem+json"))
            if resp.status_code >= 400:
                assert _unchanged_but_audit(before, fingerprint()), (url, data, resp.status_code)

    fuzz(
        backend,
        BODY,
        body,
        explicit=(
            {"amount_cents": 100, "reference": "HH-1"},
            {"values": {"participants": 3, "jobs": "0.5"}, "comments": {"participants": "Umfrage"}},
        ),
    )


def test_the_token_page(app, world, backend):
    admin = app.test_client()
    login(admin, world.admin.email)
    live, _secret = create_token(world.admin, world.ka, "Lebt", ["read"])
    db.session.commit()

    def body(data):
        post(admin, "/admin/api-tokens", data)
        post(admin, f"/admin/api-tokens/{live.id}/revoke", data, refused_changes_nothing=False)
        assert admin.get("/admin/api-tokens").status_code == 200

    fuzz(
        backend,
        fields("name", "email", "scopes", scopes=st.sampled_from(["read", "payments:write", "x"])),
        body,
        explicit=({"name": "Umfragewerkzeug", "email": "afw@x.test", "scopes": "indicators:write"},),
    )
    assert db.session.scalar(select(ApiToken.revoked_at).where(ApiToken.id == live.id)) is not None
