"""The services check who acts, not only the views: a CLI script or a later API gets the same refusals."""

import pytest
from conftest import berlin

from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.models import AuditEvent, Proposal
from foerdercall.proposals.operations import extend_deadline, start_draft


def test_only_applicants_start_drafts(app, world):
    with pytest.raises(ActionRefused, match="Antragstellende"):
        start_draft(world.call, world.ka)
    db.session.rollback()
    assert db.session.query(Proposal).count() == 0
    assert start_draft(world.call, world.applicant).state == "draft"


@pytest.mark.parametrize("who", ["applicant", "applicant2", "rev1", "advisor", "admin"])
def test_only_officials_extend_a_deadline(app, world, who):
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    events = db.session.query(AuditEvent).count()
    with pytest.raises(ActionRefused, match="Mitarbeitende der Ämter"):
        extend_deadline(p, getattr(world, who), berlin(2026, 11, 7, 23, 59), "Krankheit")
    db.session.rollback()
    assert db.session.get(Proposal, p.id).personal_deadline is None
    assert db.session.query(AuditEvent).count() == events
    extend_deadline(p, world.afw, berlin(2026, 11, 7, 23, 59), "Krankheit")
    assert p.personal_deadline == berlin(2026, 11, 7, 23, 59)
