"""Every form fuzzed (hypothesis): random and hostile strings, huge values, missing fields and wrong types,
posted as a user who may use the form. Never a 500; a request that is refused changes no row.

Both databases: SQLite with FUZZ_EXAMPLES (40) examples per form, PostgreSQL (stricter: lengths, integer
ranges, encodings) with FUZZ_PG_EXAMPLES (15) examples per form, which keeps the PostgreSQL half of all the
fuzz tests (here, tests/fuzz/, tests/mailtemplates/) within about a minute of the CI run. The examples are the
same on every run (CI stays reproducible); FUZZ_RANDOM=1 explores new ones, e.g.
``FUZZ_RANDOM=1 FUZZ_EXAMPLES=500 FUZZ_PG_EXAMPLES=200``. FUZZ_TALLY=file writes which route answered what.

One world per form; hypothesis posts many examples into it (a saved draft may change between examples: that
is what the form is for). The database is compared around refused requests: a 4xx answer, or a redirect
that flashed only error messages (the form or the service said no).

The forms of the rest of the app are fuzzed in tests/fuzz/ and tests/mailtemplates/ with the helpers here.
"""

from __future__ import annotations

import os
import re

from conftest import fill_draft, login
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from foerdercall.extensions import db
from foerdercall.jobs.runner import join_threads
from foerdercall.proposals.operations import start_draft

HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "-0",
        "1e309",
        "NaN",
        "inf",
        "99999999999999999999999",
        "1.234,56",
        "12,5",
        "€ 5",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "\x00",
        "a\x00b",
        "\r\n\r\nX-Injected: 1",
        "%s%n%x",
        "{{7*7}}",
        "../../etc/passwd",
        "🙂" * 500,
        "x" * 100_000,
        "2026-02-30T25:61",
        "2026-03-29T02:30",
        "31.12.2026 23:59",
        "true",
        "null",
        "[]",
        "{}",
        # digits that str.isdigit() accepts but int() does not; integers past PostgreSQL's integer and bigint
        "²",
        "1²",
        "³ | - | Name",
        "2147483648",
        "9223372036854775808",
        "-2147483649",
        "٣",
        "\u202e\u200b",
        "\x85",
        "\ufeff",
        "\x1b[31m",
    ]
)
VALUE = st.one_of(HOSTILE, st.text(max_size=200), st.integers().map(str), st.floats().map(str))

TALLY = os.environ.get("FUZZ_TALLY")
EXAMPLES = {
    "sqlite": int(os.environ.get("FUZZ_EXAMPLES", "40")),
    "postgresql": int(os.environ.get("FUZZ_PG_EXAMPLES", "15")),
}


def fields(*names: str, **special):
    """Any subset of the form's fields (missing fields), each with a random or hostile value, sometimes
    several values for one field (a list where one is expected). ``special`` gives a field a strategy of its
    own as well (ids that exist, a valid choice), mixed with the hostile ones."""

    def value(name):
        base = st.one_of(VALUE, st.lists(VALUE, max_size=3))
        return st.one_of(special[name], base) if name in special else base

    keys = tuple(dict.fromkeys(names + tuple(special)))
    return st.fixed_dictionaries({}, optional={k: value(k) for k in keys})


def fuzz(backend: str, strategy, body, *, explicit: tuple = ()) -> None:
    """Call body(data) for the examples of ``strategy``: FUZZ_EXAMPLES on SQLite, FUZZ_PG_EXAMPLES on
    PostgreSQL. ``explicit``: examples tried first, on both databases (the way to the deeper states, and what
    an earlier run found). A failure prints the example ("Falsifying example: test(data=...)")."""
    n = EXAMPLES[backend]

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=not os.environ.get("FUZZ_RANDOM"),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=strategy)
    def test(data):
        body(data)

    for data in reversed(explicit):  # the explicit examples run first, in their order
        test = example(data=data)(test)
    test()


def fingerprint() -> dict:
    with db.engine.connect() as conn:
        return {
            t.name: conn.exec_driver_sql(f'SELECT * FROM "{t.name}" ORDER BY 1').fetchall()
            for t in db.metadata.sorted_tables
        }


def _flashes(client) -> list[tuple[str, str]]:
    """The messages the request flashed (taken out of the session, so the next request starts without)."""
    with client.session_transaction() as sess:
        return list(sess.pop("_flashes", []))


def refused(resp, flashes, *, saves_on_error: bool = False) -> bool:
    """A 4xx, or a redirect with only error messages (the form or the service said no). ``saves_on_error``: the
    form keeps what was typed while it says what is missing (a review's scores), so only a 4xx is a refusal."""
    if 400 <= resp.status_code < 500:
        return True
    categories = {c for c, _m in flashes}
    return not saves_on_error and resp.status_code in (302, 303) and categories == {"error"}


def post(
    client,
    url: str,
    data: dict,
    *,
    refused_changes_nothing: bool = True,
    saves_on_error: bool = False,
    files: dict | None = None,
):
    db.session.commit()
    before = fingerprint()
    payload = dict(data)
    if files:
        payload.update(files)
    resp = client.post(url, data=payload)
    join_threads()  # a job the request started (an export) has run: its row is not the request's change
    db.session.rollback()
    assert resp.status_code < 500, (url, data, resp.status_code)
    if TALLY:  # FUZZ_TALLY=file: which route answered what (does the fuzzing reach past the form?)
        with open(TALLY, "a", encoding="utf-8") as f:
            f.write(f"{re.sub(r'/[0-9]+', '/<id>', url)[:60]} {resp.status_code}\n")
    if refused_changes_nothing and refused(resp, _flashes(client), saves_on_error=saves_on_error):
        assert fingerprint() == before, (url, data, resp.status_code)
    return resp


def show(client, *urls: str) -> None:
    """The pages that show what the examples saved (hostile text in a title, a criterion, a report) render."""
    for url in urls:
        resp = client.get(url)
        assert resp.status_code < 500, (url, resp.status_code)


PROPOSAL_FIELDS = (
    "title",
    "field_of_action",
    "summary",
    "description",
    "work_plan",
    "team",
    "leipzig_relation",
    "requested_amount",
    "advice_requested",
    "kind",
    "action",
)
CALL_FIELDS = (
    "code",
    "title",
    "description",
    "fields_of_action-0-de",
    "fields_of_action-0-key",
    "milestone_plan-0-month",
    "mode",
    "legal_regime",
    "procedure_type",
    "procedure_reason",
    "estimated_value",
    "budget",
    "max_amount",
    "opens_at",
    "submission_deadline",
    "review_deadline",
    "clarification_days",
    "acceptance_days",
    "implementation_months",
    "scale_max",
    "min_total",
    "criteria-0-key",
    "criteria-0-name",
    "criteria-0-description",
    "criteria-0-weight",
    "criteria-0-knockout_min",
    "criteria-7-weight",
    "row_action",
    "reminder_days",
    "review_reminder_days",
    "signoff_reminder_days",
    "signoff_escalation_days",
    "milestone_reminder_days",
    "implementation_reminder_days",
    "reviewers_per_proposal",
    "score_aggregation",
    "standstill_threshold",
    "hold_decision_mails",
)


def test_the_draft_form(app, world, backend):
    client = app.test_client()
    login(client, world.applicant.email)
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    fuzz(backend, fields(*PROPOSAL_FIELDS), lambda data: post(client, f"/proposals/{p.id}/edit", data))


def test_the_call_form(app, world, backend):
    client = app.test_client()
    login(client, world.ka.email)
    fuzz(backend, fields(*CALL_FIELDS), lambda data: post(client, "/calls/new", data))


def test_the_correction_form(app, world, backend):
    client = app.test_client()
    login(client, world.ka.email)
    fuzz(
        backend,
        fields("description", "submission_deadline", "reason"),
        lambda data: post(client, f"/calls/{world.call.id}/correct", data),
    )


def test_the_registration_and_login_forms(app, world, backend):
    client = app.test_client()

    def body(data):
        post(client, "/register", data)
        # a refused login is recorded on purpose (throttling, audit): only "never a 500" holds there
        post(
            client,
            "/login",
            {k: v for k, v in data.items() if k in ("email", "password")},
            refused_changes_nothing=False,
        )

    fuzz(backend, fields("name", "organisation", "email", "password", "password2", "locale", "privacy"), body)


def test_the_deadline_extension_form(app, world, backend):
    client = app.test_client()
    login(client, world.ka.email)
    fuzz(
        backend,
        fields("email", "deadline", "reason"),
        lambda data: post(client, f"/calls/{world.call.id}/extend", data),
    )


def test_the_award_and_implementation_forms(app, world, clock, backend):
    from conftest import award_after_deadline

    from foerdercall.awards.models import Milestone
    from foerdercall.workflow.engine import fire

    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    award_after_deadline(world, clock, world.call, p)
    fire(p, "accept_award", world.applicant)
    db.session.commit()
    official, applicant = app.test_client(), app.test_client()
    login(official, world.ka.email)
    login(applicant, world.applicant.email)

    def body(data):
        ms = db.session.scalars(select(Milestone).where(Milestone.proposal_id == p.id)).first()
        post(official, f"/proposals/{p.id}/payments", data)
        post(official, f"/proposals/{p.id}/milestones", data)
        post(applicant, f"/proposals/{p.id}/milestones/{ms.id}/report", data)
        post(applicant, f"/proposals/{p.id}/reports/interim", data)

    fuzz(
        backend,
        fields(
            "decision",
            "reason",
            "amount",
            "title",
            "due_at",
            "note",
            "text",
            "narrative",
            "use_of_funds",
            "spent",
        ),
        body,
    )


def opened(world, clock, n: int = 2, eligible: bool = True):
    """n submitted proposals (applicant, applicant2), the call closed and opened jointly, all eligible (or not
    yet declared)."""
    from conftest import berlin

    from foerdercall.calls.operations import confirm_opening, request_opening
    from foerdercall.workflow.engine import fire

    ps = []
    for who in (world.applicant, world.applicant2)[:n]:
        p = fill_draft(start_draft(world.call, who), who)
        fire(p, "submit", who)
        ps.append(p)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    db.session.expire(world.call)
    confirm_opening(world.call, world.afw)
    for p in ps if eligible else ():
        fire(p, "declare_eligible", world.ka)
    db.session.commit()
    return ps
