"""Read queries of the ranking and decision pages: the sign-offs, standstills and tie decisions of a call."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from workflows import TieState

from ..awards.models import SignOff
from ..extensions import db
from ..proposals.models import Proposal
from .models import Standstill, TieBreak


def sign_offs_by_office(call) -> dict[int, dict[str, SignOff]]:
    """Proposal id -> office -> its valid sign-off (a reopened decision's voided ones do not count)."""
    signed: dict[int, dict[str, SignOff]] = {}
    for s in db.session.scalars(
        select(SignOff)
        .join(Proposal, Proposal.id == SignOff.proposal_id)
        .where(Proposal.call_id == call.id, SignOff.voided_at.is_(None))
    ):
        signed.setdefault(s.proposal_id, {})[s.office] = s
    return signed


def latest_standstills(call) -> dict[int, Standstill]:
    """Proposal id -> its latest standstill (an earlier one may have ended with a reopened decision)."""
    return {
        s.proposal_id: s
        for s in db.session.scalars(
            select(Standstill)
            .join(Proposal, Proposal.id == Standstill.proposal_id)
            .where(Proposal.call_id == call.id)
            .order_by(Standstill.id)
        )
    }


def proposals_by_id(ids: Iterable[int]) -> dict[int, Proposal]:
    """The proposals of these ids, in one query (the rulebook asks about each)."""
    wanted = list(ids)
    if not wanted:
        return {}
    return {p.id: p for p in db.session.scalars(select(Proposal).where(Proposal.id.in_(wanted)))}


def tie_breaks_of(call) -> list[TieBreak]:
    """Every decision on a tie of the call, in the order they were made (the decision page, the record)."""
    return list(db.session.scalars(select(TieBreak).where(TieBreak.call_id == call.id).order_by(TieBreak.id)))


def live_tie_break(call_id: int, members: list[int], but: int | None = None) -> TieBreak | None:
    """A proposed or resolved decision on exactly these tied proposals (a refused one is over)."""
    wanted = sorted(members)
    for tb in db.session.scalars(
        select(TieBreak).where(
            TieBreak.call_id == call_id, TieBreak.state.in_((TieState.PROPOSED, TieState.RESOLVED))
        )
    ):
        if sorted(tb.members) == wanted and tb.id != but:
            return tb
    return None
