"""Every GET route fuzzed through its query arguments (issue 17, hole 7): hostile values for every argument the
view reads, and for arguments it does not know, as an anonymous visitor and as a role that may see the page.
Never a 500 (a 4xx with a message, or the argument ignored where that is the documented behaviour).

The world is the permission matrix's (tests/test_permissions.py: every route with real ids). The explicit
examples (every route as both roles, every read argument with every hostile value) run on both databases; the
random ones (FUZZ_EXAMPLES / FUZZ_PG_EXAMPLES, see tests/test_fuzz_forms.py) mix them further.

The guard: while the fuzzer runs, every read of ``request.args`` is recorded; a view that reads an argument not
listed in QUERY_ARGS fails the test (and tests/fuzz/test_fuzz_coverage.py greps the sources for the names).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import strategies as st
from test_fuzz_forms import fuzz
from test_permissions import ACCESS, CASES, RULES, _fill, client_for, opened, request  # noqa: F401 (fixture)
from werkzeug.datastructures import ImmutableMultiDict

# What each view reads from the query string, and what it means (the documented behaviour for a bad value).
QUERY_ARGS = {
    "register.index": {"call"},  # a public call's id; anything else is a 404
    "register.as_csv": {"call"},
    "register.as_json": {"call"},
    "calls.ranking": {"page"},  # a page number; anything else is the first page
    "calls.proposals": {"state"},  # a proposal state; anything else shows every state
    "accounts.login": {"next"},  # a same-site path to go to after the login (read when the form is posted)
    "parking.index": {"next"},  # the same, after the parked text was dealt with
    "api.calls": {"cursor", "limit"},  # a page of the API: anything else is a 400 problem
    "api.proposals": {"cursor", "limit", "call_id"},  # (a 401 for these sessions: no token)
    "api.register": {"call_id"},
}
UNKNOWN = ("x", "id", "callid", "page[]", "next\x00")  # arguments no view reads: ignored

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "²",
    "1²",
    "٣",
    "2147483648",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "1.5",
    "0x10",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\x00",
    "a\x00b",
    "\r\n",
    "/\r\nSet-Cookie: x=1",
    "%0A",
    "//evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "\\\\evil.example",
    "../../etc/passwd",
    "🙂" * 200,
    "x" * 20_000,
    "\u202e\u200b",
    "\ufeff",
    "\x1b[31m",
    "submitted",
    "draft",
]
VALUE = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=100), st.integers().map(str))

# the role that may see each kind of page (the first of these its rule admits)
PREFERRED = ("official_ka", "owner", "reviewer_assigned", "admin", "advisor", "anonymous")
GET_CASES = [c for c in CASES if c.method == "GET"]


def permitted(endpoint: str) -> str:
    allowed = RULES[ACCESS[endpoint]]
    return next(r for r in PREFERRED if r in allowed)


# --- recording what the views read -----------------------------------------------------------------------------

READ: set[tuple[str, str]] = set()


class RecordingArgs(ImmutableMultiDict):
    """request.args that notes every name a view asks for (get, [], getlist, in)."""

    def _note(self, key):
        from flask import request as current

        READ.add((current.endpoint or "", str(key)))

    def get(self, key, default=None, type=None):  # noqa: A002
        self._note(key)
        return super().get(key, default, type)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def getlist(self, key, type=None):  # noqa: A002
        self._note(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


@pytest.fixture
def recorded(app, request):
    """The matrix's world, with every read of request.args recorded (the hook is added before any request)."""
    from flask import request as current

    @app.before_request
    def _record():
        current.args = RecordingArgs(current.args.items(multi=True))

    READ.clear()
    return request.getfixturevalue("opened")


def test_every_get_route_survives_hostile_query_arguments(app, backend, recorded):
    ids = recorded.ids
    clients = {}

    def client(role):
        if role not in clients:
            clients[role] = client_for(app, role)
        return clients[role]

    def body(data):
        index, role_kind, values, unknown = data
        case = GET_CASES[index % len(GET_CASES)]
        role = "anonymous" if role_kind == "anonymous" else permitted(case.endpoint)
        args = [
            (name, values[i % len(values)])
            for i, name in enumerate(sorted(QUERY_ARGS.get(case.endpoint, ())))
        ]
        args += [(UNKNOWN[i % len(UNKNOWN)], v) for i, v in enumerate(unknown)]
        url = _fill(case.url, ids) + ("?" + urlencode(args) if args else "")
        resp = request(app, client(role), "GET", url)
        assert resp.status_code < 500, f"{role}: GET {url!r} ({case.endpoint}) -> {resp.status_code}"

    explicit = []
    for i, case in enumerate(
        GET_CASES
    ):  # every route, as both roles, with a hostile known and unknown argument
        for role_kind in ("anonymous", "permitted"):
            explicit.append(
                (i, role_kind, [HOSTILE[(i * 7) % len(HOSTILE)]], [HOSTILE[(i * 11 + 3) % len(HOSTILE)]])
            )
        if case.endpoint in QUERY_ARGS:  # every hostile value in each argument the view reads
            seen = {c.endpoint for c in GET_CASES[:i]}
            if case.endpoint not in seen:
                explicit += [(i, "permitted", [v], []) for v in HOSTILE]
    strategy = st.tuples(
        st.integers(0, len(GET_CASES) - 1),
        st.sampled_from(["anonymous", "permitted"]),
        st.lists(VALUE, min_size=1, max_size=2),
        st.lists(VALUE, max_size=2),
    )
    fuzz(backend, strategy, body, explicit=tuple(explicit))
    unknown_reads = sorted((e, n) for e, n in READ if n not in QUERY_ARGS.get(e, set()))
    assert unknown_reads == [], "views read query arguments the fuzzer does not know: add them to QUERY_ARGS"
