"""Bulk sign-offs racing on PostgreSQL: the same guarantees as single sign-offs (one sign-off per office,
exactly one approval, no lost sign-off), with every refusal reported for its proposal."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_races_pg import count, fresh, job, make_call, make_users, open_call, race, review, submitted

from foerdercall.accounts.models import User
from foerdercall.audit.models import AuditEvent
from foerdercall.awards.models import SignOff
from foerdercall.awards.operations import sign_off_many
from foerdercall.extensions import db
from foerdercall.proposals.models import Proposal

pytestmark = pytest.mark.postgres


def bulk(*proposals_and_actor, decision="approve", reason=""):
    *ps, actor = proposals_and_actor
    return sign_off_many(ps, actor, decision, reason)


def reviewed_proposals(u, clock, n):
    call = make_call(u)
    ps = [submitted(call, u.applicant, title=f"Maßnahme {i}") for i in range(n)]
    open_call(call, u, clock)
    for p in ps:
        review(p, u)
    return [p.id for p in ps]


def test_both_offices_bulk_sign_at_once(pg_app, clock):
    u = make_users()
    ids = reviewed_proposals(u, clock, 12)
    # the two offices sign the same proposals at once, in opposite orders (their locks cross)
    ka, afw = race(
        pg_app,
        job(bulk, *[(Proposal, i) for i in ids], (User, u.ka.id)),
        job(bulk, *[(Proposal, i) for i in reversed(ids)], (User, u.afw.id)),
    )
    assert [m for _p, m in ka.value] == [None] * 12
    assert [m for _p, m in afw.value] == [None] * 12
    fresh()
    for pid in ids:
        assert db.session.get(Proposal, pid).state == "approved"
        assert sorted(db.session.scalars(select(SignOff.office).where(SignOff.proposal_id == pid))) == [
            "AfWiFoe",
            "KA",
        ]
        assert count(AuditEvent, AuditEvent.proposal_id == pid, AuditEvent.action == "approve") == 1


def test_two_officials_of_one_office_bulk_sign_at_once(pg_app, clock):
    u = make_users()
    ids = reviewed_proposals(u, clock, 10)
    first, second = race(
        pg_app,
        job(bulk, *[(Proposal, i) for i in ids], (User, u.ka.id)),
        job(bulk, *[(Proposal, i) for i in ids], (User, u.ka2.id)),
    )
    fresh()
    for pid in ids:
        rows = db.session.scalars(select(SignOff).where(SignOff.proposal_id == pid)).all()
        assert len(rows) == 1 and rows[0].office == "KA"  # one KA sign-off, never two, never none
        winner = rows[0].user_id
        loser = second if winner == u.ka.id else first
        message = dict(loser.value)[pid]
        name = u.ka.name if winner == u.ka.id else u.ka2.name
        assert message == f"Ihr Amt hat bereits gezeichnet ({name}).", message
        assert db.session.get(Proposal, pid).state == "reviewed"
    # every proposal signed by exactly one of them, each refusal reported for its own proposal
    signed = sum(1 for o in (first, second) for _p, m in o.value if m is None)
    assert signed == len(ids)
