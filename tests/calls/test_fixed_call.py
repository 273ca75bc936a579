"""A published call is fixed: its terms change only through a recorded correction (a new version) that
everyone concerned is told about; every submission records the version it was made under and gets the
next file number (Aktenzeichen) of its call."""

from __future__ import annotations

import copy

import pytest
from conftest import PASSWORD, berlin, fill_draft, publish
from sqlalchemy import func, select

from foerdercall.audit.models import AuditEvent
from foerdercall.calls.models import Call, CallVersion, Criterion
from foerdercall.calls.operations import call_snapshot, correct_call, create_call, update_call
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.proposals.models import Proposal
from foerdercall.proposals.operations import start_draft, submit
from foerdercall.workflow.engine import fire

FIXED_MESSAGES = (
    "Der Aufruf ist veröffentlicht: Kriterien und Anlagen sind fest.",
    "Der Aufruf ist veröffentlicht: seine Bedingungen sind fest.",
)


def fresh_call() -> Call:
    db.session.rollback()
    db.session.expire_all()
    return db.session.scalars(select(Call).where(Call.code == "KW26")).one()


def weights_of(call) -> list[tuple[str, int]]:
    return [(c.key, c.weight) for c in call.criteria]


def _weight(call, world):
    call.criteria[0].weight = 25
    call.criteria[1].weight = 15


def _rename(call, world):
    call.criteria[2].name = "Umsetzbarkeit (neu gefasst)"


def _knockout(call, world):
    call.criteria[2].knockout_min = 3


def _add_criterion(call, world):
    call.criteria.append(Criterion(position=6, key="gender", name="Gleichstellung", weight=5))


def _remove_criterion(call, world):
    call.criteria.remove(call.criteria[-1])


def _delete_criterion(call, world):
    db.session.delete(call.criteria[-1])


def _scale(call, world):
    call.scale_max = 10


def _min_total(call, world):
    call.min_total = 60


CV = {"key": "cv", "type": "attachment", "label": {"de": "Lebenslauf", "en": "CV"}, "required": True}


def _attachments(call, change) -> None:
    """The call's form with its attachment questions changed (a new form: the column is not tracked in place)."""
    form = copy.deepcopy(call.application_form)
    change(form["sections"][-1]["questions"])
    call.application_form = form


def _add_attachment(call, world):
    _attachments(call, lambda questions: questions.append(CV))


def _relabel_attachment(call, world):
    _attachments(call, lambda questions: questions[0]["label"].update(de="Angebot (beliebiges Format)"))


def _remove_attachment(call, world):
    _attachments(call, lambda questions: questions.pop())


def _update_operation(call, world):
    # through the ordinary operation: the title would change too, the weights must not
    update_call(
        call,
        world.ka,
        title="Neuer Titel",
        criteria=[
            (c.key, c.name, 100 if c.key == "innovation" else c.weight, c.knockout_min)
            for c in call.criteria
            if c.key in ("innovation",)
        ],
    )


def _deadline(call, world):
    call.submission_deadline = berlin(2026, 11, 30, 23, 59)


CHANGES = [
    _weight,
    _rename,
    _knockout,
    _add_criterion,
    _remove_criterion,
    _delete_criterion,
    _scale,
    _min_total,
    _add_attachment,
    _relabel_attachment,
    _remove_attachment,
    _update_operation,
    _deadline,
]


def test_published_call_terms_cannot_change(app, world, clock):
    call = fresh_call()
    before = call_snapshot(call)
    events_before = db.session.scalar(select(func.count(AuditEvent.id)))
    for change in CHANGES:
        call = fresh_call()
        with pytest.raises(ActionRefused) as exc:
            change(call, world)
            db.session.commit()
        assert exc.value.message in FIXED_MESSAGES, change.__name__
        # nothing half-written: every term (and the title changed alongside) is as published
        call = fresh_call()
        assert call_snapshot(call) == before, change.__name__
        assert (call.version, call.title) == (1, "Kreativwirtschaft 2026")
        assert db.session.scalar(select(func.count(Criterion.id)).where(Criterion.call_id == call.id)) == 6
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events_before


def test_a_draft_call_can_still_change(app, world, clock):
    draft = create_call(
        world.ka,
        code="ENTW",
        title="Entwurf",
        description="",
        fields_of_action=["networks"],
        budget_cents=10_000_00,
        max_amount_cents=5_000_00,
        opens_at=berlin(2026, 11, 1, 0, 0),
        submission_deadline=berlin(2026, 12, 1, 12, 0),
    )
    db.session.commit()
    update_call(
        draft, world.ka, scale_max=10, criteria=[("a", "Innovation", 70, None), ("b", "Kosten", 30, 2)]
    )
    _add_attachment(draft, world)
    db.session.commit()
    db.session.expire_all()
    draft = db.session.get(Call, draft.id)
    assert (weights_of(draft), draft.scale_max) == ([("a", 70), ("b", 30)], 10)
    assert [q.key for q in draft.form_definition.questions() if q.type == "attachment"] == [
        "offer",
        "declarations",
        "cv",
    ]


def applicant_proposal(world, user, title, submit_it=False):
    p = start_draft(fresh_call(), user)
    fill_draft(p, user, title=title)
    if submit_it:
        submit(p, user)
    db.session.commit()
    return p


def test_correction_is_a_new_recorded_version_announced_to_applicants_and_reviewers(app, world, clock):
    ada = applicant_proposal(world, world.applicant, "Ada, eingereicht", submit_it=True)
    applicant_proposal(world, world.applicant, "Ada, zweites Angebot")  # Ada has two proposals
    applicant_proposal(world, world.applicant2, "Bruno, Entwurf")
    assert ada.submitted_call_version == 1

    # a correction needs a reason; without one nothing changes
    with pytest.raises(ActionRefused, match="begründen"):
        correct_call(fresh_call(), world.ka, "  ", submission_deadline=berlin(2026, 11, 15, 23, 59))
    call = fresh_call()
    assert (call.version, call.submission_deadline) == (1, berlin(2026, 10, 31, 23, 59))

    from foerdercall.reviews.operations import sign_neutrality

    sign_neutrality(call, world.rev1)  # a reviewer of this call is told as well
    new_deadline = berlin(2026, 11, 15, 23, 59)
    version = correct_call(
        call,
        world.afw,
        "Frist wegen Serverausfall verlängert",
        submission_deadline=new_deadline,
        description="Berichtigte Beschreibung",
    )
    db.session.commit()
    call = fresh_call()
    assert (call.version, call.submission_deadline, call.description) == (
        2,
        new_deadline,
        "Berichtigte Beschreibung",
    )
    versions = db.session.scalars(
        select(CallVersion).where(CallVersion.call_id == call.id).order_by(CallVersion.version)
    ).all()
    assert [(v.version, v.reason, v.created_by_id) for v in versions] == [
        (1, "Veröffentlichung", world.ka.id),
        (2, "Frist wegen Serverausfall verlängert", world.afw.id),
    ]
    assert versions[0].snapshot["submission_deadline"] == berlin(2026, 10, 31, 23, 59).isoformat()
    assert versions[1].snapshot["submission_deadline"] == new_deadline.isoformat()
    assert version.id == versions[1].id

    ev = db.session.scalars(
        select(AuditEvent).where(AuditEvent.call_id == call.id, AuditEvent.action == "correct_call")
    ).one()
    assert (ev.actor_id, ev.actor_office, ev.reason) == (
        world.afw.id,
        "AfWiFoe",
        "Frist wegen Serverausfall verlängert",
    )
    assert ev.data["version"] == 2
    assert ev.data["before"]["submission_deadline"] == berlin(2026, 10, 31, 23, 59).isoformat()

    mails = db.session.scalars(
        select(OutboxMail).where(OutboxMail.kind == "call_corrected").order_by(OutboxMail.recipient_id)
    ).all()
    assert sorted(m.recipient_id for m in mails) == sorted(  # once each, not the official who corrected it
        [world.applicant.id, world.applicant2.id, world.rev1.id, world.ka.id, world.ka2.id, world.advisor.id]
    )
    for m in mails:
        assert m.subject == "Berichtigung des Aufrufs „Kreativwirtschaft 2026“ (Version 2)"
        assert "Frist wegen Serverausfall verlängert" in m.body and "15.11.2026, 23:59 Uhr" in m.body

    # a submission after the correction records version 2; the earlier one keeps version 1
    bruno = db.session.scalars(select(Proposal).where(Proposal.applicant_id == world.applicant2.id)).one()
    submit(bruno, world.applicant2)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Proposal, bruno.id).submitted_call_version == 2
    assert db.session.get(Proposal, ada.id).submitted_call_version == 1
    ev = db.session.scalars(
        select(AuditEvent).where(AuditEvent.proposal_id == bruno.id, AuditEvent.action == "submit")
    ).one()
    assert ev.data["call_version"] == 2


def test_a_correction_keeps_the_catalogue_whole(app, world, clock):
    """Weights can be corrected, but the published catalogue still sums to 100 %."""
    keep = [(c.key, c.name, c.weight, c.knockout_min) for c in fresh_call().criteria]
    with pytest.raises(ActionRefused, match="90 % statt 100 %"):
        correct_call(
            fresh_call(),
            world.ka,
            "Kosten weniger gewichten",
            criteria=[*keep[:-1], (*keep[-1][:2], 5, None)],
        )
    call = fresh_call()
    assert (call.version, weights_of(call)[-1]) == (1, ("costs", 15))
    assert db.session.scalar(select(func.count(CallVersion.id)).where(CallVersion.call_id == call.id)) == 1

    correct_call(
        call,
        world.ka,
        "Innovation stärker, Kosten schwächer gewichten",
        criteria=[(*keep[0][:2], 25, None), *keep[1:-1], (*keep[-1][:2], 10, None)],
    )
    db.session.commit()
    call = fresh_call()
    assert call.version == 2
    assert dict(weights_of(call)) == {
        "innovation": 25,
        "economic_effect": 20,
        "feasibility": 20,
        "networking": 15,
        "city_effect": 10,
        "costs": 10,
    }


def test_only_an_open_published_call_can_be_corrected(app, world, clock):
    clock.set(berlin(2026, 11, 1, 0, 0))
    fire(fresh_call(), "close", None)
    db.session.commit()
    with pytest.raises(ActionRefused, match="Nur ein veröffentlichter, noch offener Aufruf"):
        correct_call(fresh_call(), world.ka, "zu spät", description="x")
    assert fresh_call().version == 1


def test_file_numbers_are_sequential_per_call_in_order_of_submission(app, world, clock):
    from foerdercall.accounts.operations import create_user

    carl = create_user("carl@x.test", "Carl Applicant", PASSWORD, roles=("applicant",))
    other = create_call(
        world.ka,
        code="KW27",
        title="Kreativwirtschaft 2027",
        description="",
        fields_of_action=["networks"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(2026, 12, 31, 23, 59),
    )
    publish(other, world.ka)
    db.session.commit()
    first = applicant_proposal(world, world.applicant, "zuerst angelegt")
    second = applicant_proposal(world, world.applicant2, "als zweites angelegt")
    withdrawn = applicant_proposal(world, carl, "zurückgezogen")
    assert (first.file_number, second.file_number) == (None, None)  # drafts have none

    fire(withdrawn, "withdraw", carl)
    submit(second, world.applicant2)
    db.session.commit()
    submit(first, world.applicant)
    db.session.commit()
    in_other = start_draft(db.session.get(Call, other.id), world.applicant)
    fill_draft(in_other, world.applicant)
    submit(in_other, world.applicant)
    db.session.commit()
    db.session.expire_all()

    def number(p):
        return db.session.get(Proposal, p.id).file_number

    assert (number(second), number(first), number(withdrawn), number(in_other)) == (
        "KW26-0001",
        "KW26-0002",
        None,
        "KW27-0001",
    )
    later = applicant_proposal(world, world.applicant, "nachgereicht", submit_it=True)
    assert number(later) == "KW26-0003"
    # the receipt carries the number and the time of receipt
    receipt = db.session.scalars(
        select(OutboxMail).where(OutboxMail.proposal_id == first.id, OutboxMail.kind == "receipt")
    ).one()
    assert receipt.subject == "Eingangsbestätigung KW26-0002"
    assert "Eingangsnummer (Aktenzeichen): KW26-0002" in receipt.body
    assert "Zeitpunkt des Eingangs (Serverzeit): 01.10.2026, 09:00:00 Uhr" in receipt.body  # to the second
