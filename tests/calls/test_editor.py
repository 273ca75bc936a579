"""The call editor an official uses without training: criteria as rows (with and without JavaScript), the
publication checklist, the privacy notice's check mark, and a copy of a call."""

import datetime as dt
import html
import re

import pytest
from conftest import berlin, call_form, criteria_fields, login, publish
from sqlalchemy import inspect, select

from foerdercall.calls.models import Call
from foerdercall.calls.operations import (
    COPIED_COLUMNS,
    MOVED_COLUMNS,
    NOT_COPIED_COLUMNS,
    copy_call,
    create_call,
    mark_privacy_checked,
    update_call,
)
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mailtemplates.models import MailTemplate
from foerdercall.models import AuditEvent
from foerdercall.policy.checklist import CHECKS, checklist
from foerdercall.privacy.notice import TEMPLATE_MARK
from foerdercall.timeutil import to_berlin
from foerdercall.workflow.engine import fire


def rows_shown(page: str) -> list[tuple[str, str, str, str]]:
    """The criteria rows of the editor as shown: (key, name, weight, knock-out minimum), in order."""
    values = dict(re.findall(r'<input[^>]*name="(criteria-\d+-\w+)"[^>]*value="([^"]*)"', page))
    n = len([k for k in values if k.endswith("-weight")])
    return [
        tuple(
            html.unescape(values.get(f"criteria-{i}-{f}", ""))
            for f in ("key", "name", "weight", "knockout_min")
        )
        for i in range(n)
    ]


def draft_call(world, code="KW27", **kw) -> Call:
    fields = dict(
        code=code,
        title="Kreativwirtschaft 2027",
        description="Einzelmaßnahmen",
        fields_of_action=["networks"],
        budget_cents=100_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=100_000_00,
        opens_at=berlin(2026, 11, 1, 0, 0),
        submission_deadline=berlin(2027, 1, 31, 23, 59),
        criteria=[("quality", "Qualität", 60, 2), ("impact", "Wirkung", 40, None)],
    )
    fields.update(kw)
    call = create_call(world.ka, **fields)
    db.session.commit()
    return call


@pytest.fixture
def ka(app, world):
    client = app.test_client()
    login(client, world.ka.email)
    return client


# --- criteria as rows, without JavaScript ------------------------------------------------------------------


def test_new_call_shows_the_default_catalogue_as_rows_with_the_weight_sum(ka):
    page = ka.get("/calls/new").get_data(as_text=True)
    rows = rows_shown(page)
    assert [r[2] for r in rows] == ["20", "20", "20", "15", "10", "15"]
    assert rows[2][1].startswith("Qualität und Umsetzbarkeit") and rows[2][3] == "2"
    assert "Summe: 100 % von 100 %" in page
    assert "Kriterium 6" in page and 'value="criteria:add"' in page


def test_row_buttons_without_javascript_change_the_rows_and_keep_everything_typed(ka):
    typed = call_form(
        title="Mein Titel",
        description="Lange Beschreibung",
        **criteria_fields("50 | 2 | A\n30 | - | B\n5 | - | C"),
    )
    typed["criteria-1-description"] = "Was B meint"

    # add: a fourth, empty row with a key of its own; nothing saved, nothing lost
    resp = ka.post("/calls/new", data={**typed, "row_action": "criteria:add"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    rows = rows_shown(page)
    assert [(r[1], r[2]) for r in rows] == [("A", "50"), ("B", "30"), ("C", "5"), ("", "")]
    assert re.fullmatch(r"k[0-9a-f]{8}", rows[3][0])
    assert "Mein Titel" in page and "Lange Beschreibung" in page and "Was B meint" in page
    assert "Summe: 85 % von 100 %" in page
    assert db.session.scalar(select(Call).where(Call.code == "KW27")) is None

    # move the last row up: C before B, the description goes with B
    resp = ka.post("/calls/new", data={**typed, "row_action": "criteria:up-2"})
    page = resp.get_data(as_text=True)
    assert [r[1] for r in rows_shown(page)] == ["A", "C", "B"]
    assert re.search(r'name="criteria-2-description"[^>]*>\s*Was B meint</textarea>', page)

    # move the first row down, then remove the middle row
    page = ka.post("/calls/new", data={**typed, "row_action": "criteria:down-0"}).get_data(as_text=True)
    assert [r[1] for r in rows_shown(page)] == ["B", "A", "C"]
    page = ka.post("/calls/new", data={**typed, "row_action": "criteria:remove-1"}).get_data(as_text=True)
    assert [(r[1], r[2]) for r in rows_shown(page)] == [("A", "50"), ("C", "5")]
    assert "Mein Titel" in page and "Summe: 55 % von 100 %" in page

    # an action past the rows changes nothing
    page = ka.post("/calls/new", data={**typed, "row_action": "criteria:remove-9"}).get_data(as_text=True)
    assert [r[1] for r in rows_shown(page)] == ["A", "B", "C"]


def test_a_refused_save_names_the_row_and_loses_nothing(ka):
    typed = call_form(
        title="Titel bleibt",
        description="Beschreibung bleibt",
        legal_regime="UVgO",
        **criteria_fields("60 | 2 | Qualität\nabc | - | Wirkung\n10 | 9 | Kosten"),
    )
    typed["criteria-0-description"] = "Konzept und Plan"
    resp = ka.post("/calls/new", data=typed)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Kriterium 2: Das Gewicht ist eine ganze Zahl von 1 bis 100 (Prozent)." in page
    assert "Kriterium 3: Das K.-o.-Minimum ist leer oder eine ganze Zahl von 0 bis 5 (Skala)." in page
    # the faulty field is marked and described for screen readers
    assert (
        re.search(
            r'aria-describedby="criteria-1-weight-err"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*'
            r'aria-describedby="criteria-1-weight-err"',
            page,
        )
        or 'id="criteria-1-weight-err"' in page
    )
    assert [(r[1], r[2], r[3]) for r in rows_shown(page)] == [
        ("Qualität", "60", "2"),
        ("Wirkung", "abc", ""),
        ("Kosten", "10", "9"),
    ]
    for text in ("Titel bleibt", "Beschreibung bleibt", "UVgO", "Konzept und Plan", "100.000,00"):
        assert text in page, text
    assert db.session.scalar(select(Call).where(Call.code == "KW27")) is None


def test_editing_keeps_each_criterion_by_its_key_and_gives_a_new_row_a_new_key(ka, world):
    call = draft_call(world)
    ids = {c.key: c.id for c in call.criteria}
    page = ka.get(f"/calls/{call.id}/edit").get_data(as_text=True)
    rows = rows_shown(page)
    assert [r[0] for r in rows] == ["quality", "impact"]
    # the official swaps the rows, changes a weight and adds a row (as the browser posts them)
    form = call_form(code="KW27")
    for k in list(form):
        if k.startswith("criteria-"):
            del form[k]
    posted = [("impact", "Wirkung", "30", ""), ("quality", "Qualität", "60", "3"), ("", "Neu", "10", "")]
    for i, (key, name, weight, ko) in enumerate(posted):
        form |= {
            f"criteria-{i}-key": key,
            f"criteria-{i}-name": name,
            f"criteria-{i}-weight": weight,
            f"criteria-{i}-knockout_min": ko,
        }
    resp = ka.post(f"/calls/{call.id}/edit", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.expire_all()
    got = [(c.key, c.name, c.weight, c.knockout_min) for c in call.criteria]
    assert got[:2] == [("impact", "Wirkung", 30, None), ("quality", "Qualität", 60, 3)]
    assert got[2][1:] == ("Neu", 10, None) and got[2][0] not in ids
    assert {c.key: c.id for c in call.criteria[:2]} == ids  # the same rows, not new ones


def test_a_hand_made_post_with_a_duplicate_or_odd_key_gets_fresh_keys(ka, world):
    call = draft_call(world)
    form = call_form(code="KW27", **criteria_fields("50 | - | A\n50 | - | B"))
    form |= {"criteria-0-key": "quality", "criteria-1-key": "quality' OR 1=1"}
    assert ka.post(f"/calls/{call.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    keys = [c.key for c in call.criteria]
    assert keys[0] == "quality" and keys[1] != "quality" and re.fullmatch(r"k[0-9a-f]{8}", keys[1])


# --- the publication checklist -------------------------------------------------------------------------------


def test_checklist_lists_every_point_with_what_to_fix(app, world):
    call = draft_call(
        world,
        criteria=[("a", "Qualität", 60, 7), ("b", "Wirkung", 30, None)],
        fields_of_action=[],
        review_deadline=berlin(2027, 1, 15, 12, 0),
    )
    points = {p.name: p for p in checklist(call)}
    assert list(points) == [name for name, _label, _check in CHECKS]
    assert "90 % statt 100 %" in points["weights"].problem
    assert "Kriterium 1" in points["knockouts"].problem and "0 bis 5" in points["knockouts"].problem
    assert "Handlungsfeld" in points["fields_of_action"].problem
    assert "Frist für Gutachten muss nach der Einreichungsfrist" in points["dates"].problem
    assert "Datenschutzbeauftragten" in points["privacy"].problem
    assert points["offices"].ok and points["budget"].ok and points["mails"].ok and points["eu_threshold"].ok

    fixed = draft_call(world, code="KW28", estimated_value_cents=50_000_00)
    mark_privacy_checked(fixed, world.ka)
    assert [p.name for p in checklist(fixed) if not p.ok] == []


def test_publish_is_refused_with_every_failed_point_at_once(app, world):
    call = draft_call(world, criteria=[("a", "Qualität", 60, 7), ("b", "Wirkung", 30, None)])
    with pytest.raises(ActionRefused) as exc:
        fire(call, "publish", world.ka)
    message = exc.value.message
    assert "(1)" in message and "(2)" in message and "(3)" in message
    for part in ("90 % statt 100 %", "K.-o.-Minimum von Kriterium 1", "Datenschutzbeauftragten"):
        assert part in message, message
    db.session.rollback()


def test_the_detail_page_shows_the_checklist_in_words_and_the_mark_clears_on_a_new_text(ka, world):
    call = draft_call(world)
    page = ka.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Vor der Veröffentlichung" in page and "✗" in page and "Offen:" in page and "Erfüllt:" in page
    assert "Datenschutzhinweise von der/dem Datenschutzbeauftragten geprüft" in page

    resp = ka.post(f"/calls/{call.id}/privacy-checked")
    assert resp.status_code == 302
    db.session.expire_all()
    assert call.privacy_checked_at is not None and call.privacy_checked_by_id == world.ka.id
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "check_privacy_notice", AuditEvent.object_id == call.id)
    )
    assert event is not None and TEMPLATE_MARK in event.data["notice"]  # what the officer saw
    page = ka.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Offen:" not in page  # every point holds: the call can be published

    # a saved edit that leaves the text alone keeps the mark; a new text clears it
    update_call(call, world.ka, description="Neu beschrieben")
    assert call.privacy_checked_at is not None
    update_call(call, world.ka, privacy_notice="Eigene Hinweise der Ämter.")
    assert call.privacy_checked_at is None and call.privacy_checked_by_id is None
    db.session.commit()


def test_the_privacy_mark_is_only_for_a_draft(app, world):
    with pytest.raises(ActionRefused):
        mark_privacy_checked(world.call, world.ka)  # published
    with pytest.raises(ActionRefused):
        mark_privacy_checked(draft_call(world), world.applicant)
    db.session.rollback()


def test_the_published_page_never_shows_the_template_marker(app, world):
    assert not world.call.privacy_notice  # the generated template is in force
    anonymous = app.test_client()
    page = anonymous.get(f"/calls/{world.call.id}").get_data(as_text=True)
    assert "Datenschutzhinweise zum Aufruf" in page
    assert TEMPLATE_MARK not in page and "Vorlage aus den Daten des Aufrufs erzeugt" not in page
    # nor when officials pasted the template with its marker into their own text
    call = draft_call(world, privacy_notice=f"Unsere Hinweise\n{TEMPLATE_MARK}\nWeiter im Text")
    publish(call, world.ka)
    db.session.commit()
    page = anonymous.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Unsere Hinweise" in page and "Weiter im Text" in page and "Vorlage aus den Daten" not in page


# --- copy a call ---------------------------------------------------------------------------------------------


def test_every_call_column_is_copied_moved_or_left_out_on_purpose():
    columns = {c.key for c in inspect(Call).columns}
    listed = [*COPIED_COLUMNS, *MOVED_COLUMNS, *NOT_COPIED_COLUMNS]
    assert len(listed) == len(set(listed)), "a column in two lists"
    assert columns - set(listed) == set(), "a new Call column: copy it or say why not (calls/operations.py)"
    assert set(listed) - columns == set()


def test_copy_makes_a_new_draft_with_everything_but_code_dates_and_course(ka, world):
    call = world.call  # published, with a checked notice
    call.hold_decision_mails, call.reminder_days = True, [9, 2]
    db.session.add(
        MailTemplate(
            call_id=call.id,
            kind="rejection",
            lang="de",
            subject="Absage {Aufruf}",
            body="Leider",
            version=2,
            active_subject="Absage",
            active_body="Leider",
            active_version=2,
            active=True,
            created_by_id=world.ka.id,
            edited_by_id=world.ka.id,
        )
    )
    db.session.commit()

    resp = ka.post(f"/calls/{call.id}/copy", data={"confirm": "y"})
    assert resp.status_code == 302
    copy = db.session.scalar(select(Call).where(Call.code == "KW26-2"))
    assert resp.headers["Location"].endswith(f"/calls/{copy.id}/edit")
    page = ka.get(resp.headers["Location"]).get_data(as_text=True)
    assert "als Entwurf KW26-2 kopiert" in page and "Fristen" in page

    assert copy.state == "draft" and copy.version == 1 and copy.published_at is None
    assert copy.privacy_checked_at is None and copy.committed_cents == 0 and copy.next_file_seq == 1
    for name in COPIED_COLUMNS:
        assert getattr(copy, name) == getattr(call, name), name
    # a year later in Leipzig time: 1 Sept 2026 00:00 (summer time) -> 1 Sept 2027 00:00
    assert to_berlin(copy.opens_at).replace(tzinfo=None) == dt.datetime(2027, 9, 1, 0, 0)
    assert to_berlin(copy.submission_deadline).replace(tzinfo=None) == dt.datetime(2027, 10, 31, 23, 59)
    assert [(c.key, c.name, c.weight, c.knockout_min) for c in copy.criteria] == [
        (c.key, c.name, c.weight, c.knockout_min) for c in call.criteria
    ]
    assert copy.application_form == call.application_form  # the questions, the attachments among them
    template = db.session.scalar(select(MailTemplate).where(MailTemplate.call_id == copy.id))
    assert (template.kind, template.subject, template.active, template.active_version) == (
        "rejection",
        "Absage {Aufruf}",
        False,
        0,
    )  # the latest text, to be previewed and activated for the copy
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "copy_call"))
    assert event.object_id == copy.id and event.data["copy_of"] == call.id

    # a copy of the copy counts on; the original keeps its code and state
    again = copy_call(copy, world.ka)
    assert again.code == "KW26-3" and call.state == "published"
    db.session.commit()


def test_copy_needs_an_official_and_its_confirmation(app, world):
    applicant = app.test_client()
    login(applicant, world.applicant.email)
    assert applicant.post(f"/calls/{world.call.id}/copy", data={"confirm": "y"}).status_code in (302, 403)
    client = app.test_client()
    login(client, world.ka.email)
    client.post(f"/calls/{world.call.id}/copy", data={})
    assert db.session.scalar(select(Call).where(Call.code != "KW26")) is None
    with pytest.raises(ActionRefused):
        copy_call(world.call, world.applicant)
    db.session.rollback()
