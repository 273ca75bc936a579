"""A procurement call's proposals stay sealed until two officials have opened them; a grant call has no seal. The
rule is written twice, as a property of one call and as an SQL condition for queries over many calls: both must
say the same at every step."""

from __future__ import annotations

from conftest import berlin, published_call
from sqlalchemy import select

from foerdercall.calls.models import Call
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.extensions import db
from foerdercall.workflow.engine import fire


def sealed_by_both(*calls: Call) -> list[tuple[bool, bool]]:
    db.session.flush()
    in_sql = set(db.session.scalars(select(Call.id).where(Call.sealed())))
    return [(call.is_sealed, call.id in in_sql) for call in calls]


def test_the_seal_of_one_call_and_of_the_query_agree_at_every_step(app, world, clock):
    procurement = world.call
    grant = published_call(world, code="KW26G", mode="grant")
    assert sealed_by_both(procurement, grant) == [(True, True), (False, False)]

    clock.set(berlin(2026, 11, 2, 9, 0))
    for call in (procurement, grant):
        fire(call, "close", None)
    assert sealed_by_both(procurement, grant) == [(True, True), (False, False)]

    request_opening(procurement, world.ka)  # one official asked: still sealed
    assert sealed_by_both(procurement) == [(True, True)]

    confirm_opening(procurement, world.afw)  # the second confirmed: opened
    assert sealed_by_both(procurement, grant) == [(False, False), (False, False)]
