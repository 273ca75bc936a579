"""The call forms fuzzed (tests/test_fuzz_forms.py): editing a draft call (terms, criteria catalogue, reminders),
the call's buttons with a reason, starting a proposal, the two-person opening, exports and the award record as
jobs. Never a 500; a refused form changes no row."""

from __future__ import annotations

from urllib.parse import quote

from conftest import berlin, fill_draft, login
from hypothesis import strategies as st
from sqlalchemy import select
from test_fuzz_forms import CALL_FIELDS, HOSTILE, fields, fuzz, post, show

from foerdercall.calls.operations import create_call
from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire

CALL_TRIGGERS = ("publish", "close", "decide", "start_implementation", "archive")
NUMBER = st.one_of(st.integers(-5, 10**12).map(str), HOSTILE)  # a criterion's weight or knock-out minimum


def _segment(text: str) -> str:
    return quote(text, safe="") or "x"


def draft_call(world):
    """A draft call of the KA (the fuzz tests of the call editor start from it)."""
    draft = create_call(
        world.ka,
        code="KW27",
        title="Entwurf",
        description="",
        fields_of_action=["networks"],
        budget_cents=10_000_00,
        max_amount_cents=5_000_00,
        opens_at=berlin(2026, 12, 1, 0, 0),
        submission_deadline=berlin(2026, 12, 31, 23, 59),
    )
    db.session.commit()
    return draft


def test_the_draft_call_edit_form(app, world, backend):
    """A draft call's whole form, the criteria rows (weight, knock-out minimum, name, row buttons) included."""
    draft = draft_call(world)
    client = app.test_client()
    login(client, world.ka.email)
    fuzz(
        backend,
        fields(*CALL_FIELDS, **{"criteria-0-weight": NUMBER, "criteria-0-knockout_min": NUMBER}),
        lambda data: (
            post(client, f"/calls/{draft.id}/edit", data),
            show(client, f"/calls/{draft.id}", f"/calls/{draft.id}/edit"),
        ),
        # each was a 500 before forms/calls.py read it as a message: "²" passes str.isdigit() but not int();
        # weights outside 1-100 broke the CHECK constraint, numbers past the integer column PostgreSQL; a post
        # without the catalogue handed the call's criteria rows to the text parser
        explicit=(
            {"criteria-0-name": "Innovation", "criteria-0-weight": "²"},
            {"criteria-0-name": "Innovation", "criteria-0-weight": "20", "criteria-0-knockout_min": "³"},
            {"criteria-0-name": "Innovation", "criteria-0-weight": "0"},
            {"criteria-0-name": "Innovation", "criteria-0-weight": "150"},
            {"criteria-0-name": "Innovation", "criteria-0-weight": "99999999999999999999"},
            {"criteria-0-weight": "20", "criteria-0-knockout_min": "99999999999999999999"},
            {"criteria-0-key": "k" * 41, "criteria-3-key": "innovation", "criteria-3-weight": "20"},
            {"row_action": "criteria:remove-999"},
            {"row_action": "criteria:down-0", "criteria-0-weight": "²"},
            {},
            {"title": "Nur der Titel"},
        ),
    )


def test_the_call_buttons_and_starting_a_proposal(app, world, backend):
    ka, applicant = app.test_client(), app.test_client()
    login(ka, world.ka.email)
    login(applicant, world.applicant2.email)

    def body(example):
        trigger, data = example
        post(ka, f"/calls/{world.call.id}/fire/{_segment(trigger)}", data)
        post(applicant, f"/calls/{world.call.id}/apply", data)

    fuzz(backend, st.tuples(st.one_of(st.sampled_from(CALL_TRIGGERS), HOSTILE), fields("reason")), body)


def test_the_opening_exports_and_award_record(app, world, clock, backend):
    """After the deadline: the opening (two officials), the exports and the Vergabevermerk as jobs."""
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    fire(p, "submit", world.applicant)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    db.session.commit()
    ka, afw = app.test_client(), app.test_client()
    login(ka, world.ka.email)
    login(afw, world.afw.email)
    what = st.one_of(st.sampled_from(["ranking.csv", "ranking.xlsx", "scores.csv", "scores.xlsx"]), HOSTILE)

    def body(example):
        target, data = example
        post(ka, f"/calls/{world.call.id}/opening", data)
        post(afw, f"/calls/{world.call.id}/opening", data)
        post(ka, f"/calls/{world.call.id}/export/{_segment(target)}", data)
        post(ka, f"/calls/{world.call.id}/vergabevermerk.pdf", data)

    fuzz(backend, st.tuples(what, fields("reason", "start", start=st.just("1"))), body)


def test_the_privacy_mark_and_the_copy_buttons(app, world, backend):
    """Hostile values into the two buttons of a call's page: marking its privacy notice as checked and copying it
    (on the published call and on a draft). Never a 500; a copy only with its confirmation."""
    from foerdercall.calls.models import Call

    draft = create_call(
        world.ka,
        code="KW27",
        title="Entwurf",
        budget_cents=10_000_00,
        max_amount_cents=5_000_00,
        opens_at=berlin(2026, 12, 1, 0, 0),
        submission_deadline=berlin(2026, 12, 31, 23, 59),
    )
    db.session.commit()
    client = app.test_client()
    login(client, world.ka.email)

    def body(data):
        for call_id in (world.call.id, draft.id):
            post(client, f"/calls/{call_id}/privacy-checked", data)
            post(client, f"/calls/{call_id}/copy", data)
        show(client, f"/calls/{world.call.id}", f"/calls/{draft.id}")

    fuzz(backend, fields("confirm", "reason"), body, explicit=({"confirm": "y"}, {"confirm": "n"}))
    copies = db.session.scalars(select(Call.code).where(Call.code.like("KW2%-%"))).all()
    assert copies and all(code.startswith(("KW26-", "KW27-")) for code in copies)  # the confirmed ones


ROW_FIELDS = (
    "kind",
    "label_de",
    "label_en",
    "help_de",
    "required",
    "personal",
    "low",
    "high",
    "options",
    "key",
    "role",
)


def test_the_question_builder(app, world, backend):
    """The question builder (a draft call's form, and its preview for the script): the stored rows posted with one
    new row and the title's row fuzzed, row buttons included. A refused post changes nothing."""
    from forms.formbuilder import KINDS, rows_of

    draft = draft_call(world)
    rows = rows_of(draft.stored_form, "de")
    base = {f"items-{i}-{k}": v for i, row in enumerate(rows) for k, v in row.items() if v}
    n = len(rows)
    kind = st.sampled_from([k for k, _label in KINDS])
    new_row = fields(*(f"items-{n}-{f}" for f in ROW_FIELDS), **{f"items-{n}-kind": kind})
    title_row = fields("items-1-kind", "items-1-label_de", "items-1-role", "row_action", "action", "reason")
    client = app.test_client()
    login(client, world.ka.email)

    def body(example):
        data = {**base, **example[0], **example[1]}
        post(client, f"/calls/{draft.id}/form", data)
        post(client, f"/calls/{draft.id}/form/preview", data)
        show(client, f"/calls/{draft.id}/form")

    fuzz(
        backend,
        st.tuples(new_row, title_row),
        body,
        explicit=(
            (
                {
                    f"items-{n}-kind": "table",
                    f"items-{n}-label_de": "Kosten",
                    f"items-{n}-options": "a|b|c|d|e",
                },
                {},
            ),
            ({f"items-{n}-kind": "money", f"items-{n}-label_de": "Preis", f"items-{n}-low": "1e309"}, {}),
            (
                {f"items-{n}-kind": "date", f"items-{n}-label_de": "Beginn", f"items-{n}-high": "31.02.2027"},
                {},
            ),
            (
                {
                    f"items-{n}-kind": "multiple_choice",
                    f"items-{n}-label_de": "X",
                    f"items-{n}-options": "|\n|",
                },
                {},
            ),
            ({f"items-{n}-kind": "section", f"items-{n}-label_de": "action"}, {"items-1-role": "amount"}),
            ({}, {"row_action": "items:remove-0"}),
            ({}, {"items-1-kind": "section"}),
        ),
    )
