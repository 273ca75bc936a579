"""Formula injection (issue 17, hole 3): every CSV and XLSX the app writes neutralises text that a spreadsheet
program would run as a formula (a leading = + - @, tab or CR, also after leading spaces, and the full-width
＝ ＋ － ＠), in every export route: the officials' ranking and scores (CSV, XLSX, at once and as a job) and the
public register. Numbers stay numbers; an XLSX cell of text is a plain string, never a formula.

The class test requests every GET route of the app (the permission matrix's cases) and fails for a route that
answers with a CSV or XLSX and is not covered here.
"""

from __future__ import annotations

import csv
import io
import warnings
from types import SimpleNamespace

import pytest
from conftest import PASSWORD, berlin, fill_draft, login, neutral, publish
from test_permissions import ACCESS, CASES, RULES, client_for, request
from test_permissions import opened as opened  # noqa: F401  (the matrix's world, a fixture)

from foerdercall.accounts.operations import create_user
from foerdercall.awards.operations import add_milestone, make_award, sign_off
from foerdercall.calls.operations import confirm_opening, create_call, request_opening
from foerdercall.extensions import db
from foerdercall.proposals.operations import start_draft
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.sheets import neutralise
from foerdercall.workflow.engine import fire

TITLE = '=HYPERLINK("http://evil.example","x")'
APPLICANT = "@SUM(1+1) Ada"
ORGANISATION = "+cmd|' /C calc'!A0 e. V."
REVIEWER = "-2+3 Rita"
JUSTIFICATION = '  =HYPERLINK("http://evil.example/j","Begründung")'  # after leading spaces
CRITERION = '＝HYPERLINK("http://evil.example/c")'  # the full-width equals sign
MILESTONE = "＠SUM(1+1) Meilenstein"  # the full-width at sign
CALL_TITLE = "＋49 341 Aufruf mit Formeln"  # the full-width plus
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

CSV_TYPE, XLSX_TYPE = "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Every route that answers with a CSV or XLSX, and the test of this file that sends hostile text through it.
EXPORT_ROUTES = {
    "calls.export": "test_officials_exports_neutralise_formulas",
    "jobs.download": "test_officials_exports_neutralise_formulas",
    "register.as_csv": "test_public_register_csv_neutralises_formulas",
    "outcomes.year_report_file": "test_implementation_reports_neutralise_formulas",
    "outcomes.call_report_file": "test_implementation_reports_neutralise_formulas",
}
COMMA_SEPARATED = ("register.as_csv", "outcomes.year_report_file", "outcomes.call_report_file")  # open data


def _xlsx_cells(body: bytes) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(body))
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


def _csv_cells(body: bytes, delimiter: str) -> list[str]:
    return [v for row in csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter) for v in row]


def _dangerous(text) -> bool:
    return isinstance(text, str) and (text[:1] in TRIGGERS or text.lstrip()[:1] in TRIGGERS)


def assert_safe(resp, delimiter: str = ";") -> list[str]:
    """No cell of the file runs as a formula; returns the text of its cells."""
    if resp.mimetype == CSV_TYPE:
        cells = _csv_cells(resp.body if hasattr(resp, "body") else resp.get_data(), delimiter)
        bad = [v for v in cells if _dangerous(v)]
        assert not bad, f"formula-like CSV cells: {bad}"
        return cells
    assert resp.mimetype == XLSX_TYPE, resp.mimetype
    cells = _xlsx_cells(resp.body if hasattr(resp, "body") else resp.get_data())
    formulas = [c.value for c in cells if c.data_type == "f"]
    assert not formulas, f"formulas in the workbook: {formulas}"
    bad = [c.value for c in cells if _dangerous(c.value)]
    assert not bad, f"formula-like XLSX cells: {bad}"
    assert all(c.data_type in ("s", "n", "b") for c in cells if c.value is not None)
    return [str(c.value) for c in cells if c.value is not None]


def assert_neutralised(cells: list[str], *texts: str) -> None:
    """Each hostile text is in the file, behind a leading apostrophe."""
    for text in texts:
        assert any(v.startswith("'") and text in v for v in cells), (
            f"{text!r} not found neutralised in {cells}"
        )


# --- the function -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        "  =1",
        "\n=1",
        "\u3000=1",
        "＝1",
        "＋1",
        "－1",
        "＠A1",
        " ＠A1",
        "-5",
    ],
)
def test_formula_like_text_gets_a_leading_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["Klangwerkstatt", "", "'=schon", "5", "a=b", "E-Mail", None, 5, -5, 2.5, -0.5, True]
)
def test_other_values_stay_as_they_are(value):
    assert neutralise(value) == value


# --- every export route with hostile text ----------------------------------------------------------------------


@pytest.fixture
def hostile(app, world, clock):
    """A call with a hostile criterion name; a proposal with a hostile title by an applicant with a hostile name
    and organisation, reviewed by a reviewer with a hostile name and justification; awarded, accepted, with a
    hostile milestone: in the ranking, the scores and the public register."""
    applicant = create_user("evil@x.test", APPLICANT, PASSWORD, organisation=ORGANISATION)
    reviewer = create_user("evilrev@x.test", REVIEWER, PASSWORD, roles=("reviewer",))
    call = create_call(
        world.ka,
        code="EV26",
        title=CALL_TITLE,
        description="",
        fields_of_action=["networks"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(2026, 10, 31, 23, 59),
        reviewers_per_proposal=1,
        criteria=[("quality", CRITERION, 60, None), ("impact", "Wirkung", 40, None)],
    )
    publish(call, world.ka)
    neutral(call, world.ka, world.afw)
    p = fill_draft(start_draft(call, applicant), applicant, title=TITLE)
    fire(p, "submit", applicant)
    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(call, "close", None)
    request_opening(call, world.ka)
    confirm_opening(call, world.afw)
    fire(p, "declare_eligible", world.ka)
    sign_neutrality(call, reviewer)
    review = assign_reviewer(p, reviewer, world.ka)
    fire(p, "start_review", world.ka)
    declare_conflict(p, reviewer, False)
    save_review(review, reviewer, {c.id: (4, JUSTIFICATION) for c in call.criteria}, submit=True)
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    make_award(p, world.ka)
    fire(p, "accept_award", applicant)
    add_milestone(p, world.ka, MILESTONE, berlin(2027, 5, 1, 12, 0))
    db.session.commit()
    return SimpleNamespace(call=call, p=p)


@pytest.mark.parametrize(
    "what,fmt", [("ranking", "csv"), ("scores", "csv"), ("ranking", "xlsx"), ("scores", "xlsx")]
)
def test_officials_exports_neutralise_formulas(app, world, hostile, what, fmt):
    from foerdercall.jobs.runner import join_threads

    ka = app.test_client()
    login(ka, "ka@x.test")
    direct = ka.get(f"/calls/{hostile.call.id}/export/{what}.{fmt}")
    assert direct.status_code == 200
    cells = assert_safe(direct)
    expected = [TITLE, CRITERION] if what == "ranking" else [REVIEWER, JUSTIFICATION.strip(), CRITERION]
    assert_neutralised(cells, *expected)
    numbers = [v for v in cells if v.replace(".", "", 1).isdigit()]
    assert numbers, "the numbers are still there"
    if fmt == "xlsx":
        number_cells = [c for c in _xlsx_cells(direct.get_data()) if isinstance(c.value, int | float)]
        assert number_cells and all(c.data_type == "n" for c in number_cells)  # numbers stay numbers

    resp = ka.post(f"/calls/{hostile.call.id}/export/{what}.{fmt}", data={"start": "1"})
    assert resp.status_code == 302
    job = int(resp.headers["Location"].rsplit("/", 1)[1])
    db.session.rollback()
    for _i in range(600):
        if ka.get(f"/jobs/{job}.json").get_json()["finished"]:
            break
        __import__("time").sleep(0.05)
    join_threads()
    got = ka.get(f"/jobs/{job}/download")
    assert got.status_code == 200
    assert_neutralised(assert_safe(got), *expected)


def test_public_register_csv_neutralises_formulas(app, world, hostile):
    resp = app.test_client().get(f"/public-register.csv?call={hostile.call.id}")
    assert resp.status_code == 200
    cells = assert_safe(resp, delimiter=",")
    assert_neutralised(cells, TITLE, ORGANISATION, CALL_TITLE)
    assert any(MILESTONE in v for v in cells)


def test_implementation_reports_neutralise_formulas(app, world, hostile):
    """An indicator named like a formula (the call's form is the office's text) in the report's CSV and XLSX."""
    import copy

    from sqlalchemy import update as sa_update

    from foerdercall.calls.models import Call

    call = db.session.get(Call, hostile.call.id)
    form = copy.deepcopy(call.application_form)
    targets = next(q for s in form["sections"] for q in s["questions"] if q["type"] == "indicators")
    targets["indicators"][0]["label"] = {"de": CRITERION, "en": CRITERION}
    targets["indicators"][0]["unit"] = MILESTONE
    # the published call's form is fixed for the app: changed here underneath it
    db.session.execute(sa_update(Call).where(Call.id == call.id).values(application_form=form))
    p = db.session.get(type(hostile.p), hostile.p.id)
    p.answers = {**p.answers, "targets": {targets["indicators"][0]["key"]: 10}}
    db.session.commit()
    client = app.test_client()
    for url in (f"/calls/{call.id}/implementation-report", "/reports/implementation/2026"):
        for ext in ("csv", "xlsx"):
            resp = client.get(f"{url}.{ext}")
            assert resp.status_code == 200, (url, ext)
            cells = assert_safe(resp, delimiter=",")
            if "/calls/" in url:  # the year's report names a key by the first call's label (the world's call)
                assert_neutralised(cells, CRITERION)
                assert any(MILESTONE in v for v in cells)


# --- the class: every route that answers with a spreadsheet is covered --------------------------------------------


def test_every_route_answering_with_a_spreadsheet_is_covered(app, opened):  # noqa: F811
    """Requests every GET route as a role that may see it; a route answering with a CSV or XLSX must be in
    EXPORT_ROUTES (with its hostile-text test), and what it answers has no formula."""
    rules = {
        r.endpoint: r.rule for r in app.url_map.iter_rules() if r.endpoint != "static" and "GET" in r.methods
    }
    by_suffix = {e for e, rule in rules.items() if rule.endswith((".csv", ".xlsx", ".<fmt>", "/download"))}
    assert by_suffix <= set(EXPORT_ROUTES), f"not covered: {sorted(by_suffix - set(EXPORT_ROUTES))}"
    found = set()
    clients: dict = {}
    for case in CASES:
        if case.method != "GET":
            continue
        allowed = RULES[ACCESS[case.endpoint]]
        role = "official_ka" if "official_ka" in allowed else sorted(allowed)[0]
        if role not in clients:
            clients[role] = client_for(app, role)
        resp = request(app, clients[role], "GET", case.url.format(**opened.ids))
        if resp.mimetype in (CSV_TYPE, XLSX_TYPE) or resp.mimetype.endswith(("csv", "sheet", "excel")):
            found.add(case.endpoint)
            assert_safe(resp, delimiter="," if case.endpoint in COMMA_SEPARATED else ";")
    assert found <= set(EXPORT_ROUTES), (
        f"a spreadsheet from a route not covered: {sorted(found - set(EXPORT_ROUTES))}"
    )
    assert found == set(EXPORT_ROUTES), (
        f"covered but no spreadsheet seen: {sorted(set(EXPORT_ROUTES) - found)}"
    )
    for test in set(EXPORT_ROUTES.values()):
        assert test in globals()
