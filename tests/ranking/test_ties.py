"""Ties: after the published tie-break criteria (feasibility, then economic effect, by default) the ranking no
longer falls back to the time of receipt or the file number. A tie left that decides who is funded waits for a
recorded decision of the deciding offices, or for lots when the call announced them: drawn in the app, its seed
recorded, witnessed by a second official. The Vergabevermerk shows how each tie was resolved (issue 19)."""

from __future__ import annotations

import io

import pytest
from conftest import login
from pypdf import PdfReader
from rank_helpers import opened, score, submitted
from sqlalchemy import select

from foerdercall.audit.models import AuditEvent
from foerdercall.awards.operations import make_award, sign_off
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.proposals.models import Proposal
from foerdercall.ranking.models import TieBreak
from foerdercall.ranking.service import compute_ranking
from foerdercall.ranking.ties import agree_to_tie, draw_lots, drawn_order, propose_tie_order, refuse_tie_order
from foerdercall.reviews.operations import assign_reviewer, declare_conflict
from foerdercall.workflow.engine import fire

FEASIBILITY = 2  # the default catalogue's order: innovation, economic effect, feasibility, …


def refused(fn, *args, **kw) -> str:
    with pytest.raises(ActionRefused) as exc:
        fn(*args, **kw)
    db.session.rollback()
    return exc.value.message


def build(world, clock, scores, amounts=None, approve=True):
    """Proposals scored by one reviewer (a list of six scores each), approved by both offices."""
    ps = submitted(world, len(scores), amounts=amounts or [20_000_00] * len(scores))
    opened(world, clock, ps)
    for p in ps:
        assign_reviewer(p, world.rev1, world.ka)
        fire(p, "start_review", world.ka)
    db.session.commit()
    for p, values in zip(ps, scores, strict=True):
        score(p, world.rev1, values)
    if approve:
        for p in ps:
            sign_off(p, world.ka, "approve")
            sign_off(p, world.afw, "approve")
    db.session.commit()
    return ps


def rows_by_id(call):
    return {r.proposal_id: r for r in compute_ranking(call).rows}


def test_a_published_criterion_breaks_a_tie_and_nothing_else_does(app, world, clock):
    """Equal totals: the higher feasibility goes first. Equal on every tie criterion too: a tie, listed by file
    number with one shared rank, never ordered by the time of receipt."""
    lower = [4, 4, 3, 4, 4, 4]
    higher = [4, 3, 4, 4, 4, 4]  # the same total, one point more on feasibility, less on economic effect
    a, b, c, d = build(world, clock, [lower, higher, [3] * 6, [3] * 6], amounts=[5_000_00] * 4, approve=False)
    rows = rows_by_id(world.call)
    assert (rows[b.id].rank, rows[a.id].rank) == (1, 2)
    assert (
        rows[a.id].tie_by
        == rows[b.id].tie_by
        == "Qualität und Umsetzbarkeit (Konzept, Arbeits- und Zeitplan, Team)"
    )
    assert not rows[a.id].tie_open
    assert rows[c.id].tie_open and rows[d.id].tie_open and rows[c.id].rank == rows[d.id].rank == 3
    assert rows[c.id].tie_members == tuple(sorted((c.id, d.id)))
    assert not rows[c.id].tie_waits  # the budget funds both: it decides nothing


def test_a_tie_that_decides_the_money_waits_for_both_offices(app, world, clock):
    # the best takes 20.000 of 50.000; the tied two of 20.000 each: only one fits what is left
    best, a, b = build(world, clock, [[5] * 6, [4] * 6, [4] * 6])
    make_award(best, world.ka)
    db.session.commit()
    rows = rows_by_id(world.call)
    assert rows[a.id].tie_waits and rows[b.id].tie_waits and rows[best.id].awarded
    assert not rows[a.id].in_funding and not rows[b.id].in_funding
    assert refused(make_award, a, world.ka) == (
        f"Gleichstand mit {b.file_number} auch nach den veröffentlichten Kriterien, und das Budget reicht nicht "
        "für alle: zuerst entscheidet eine begründete Entscheidung der Ämter (Seite „Entscheidung“)."
    )
    assert "Los" in refused(draw_lots, world.call, world.ka, [a.id, b.id])  # the call announced no lots

    ka, afw = app.test_client(), app.test_client()
    login(ka, "ka@x.test")
    login(afw, "afw@x.test")
    page = ka.get(f"/calls/{world.call.id}/decision").get_data(as_text=True)
    assert "Gleichstand: Entscheidung nötig" in page and "Gleichstand auf Rang 2" in page
    # a place given twice is refused, nothing recorded
    resp = ka.post(
        f"/calls/{world.call.id}/ties",
        data={"members": f"{a.id},{b.id}", "places-0": str(b.id), "places-1": str(b.id), "reason": "x"},
        follow_redirects=True,
    )
    assert "Bitte geben Sie jedem Angebot genau einen Platz." in resp.get_data(as_text=True)
    assert db.session.scalar(select(TieBreak)) is None
    resp = ka.post(
        f"/calls/{world.call.id}/ties",
        data={
            "members": f"{a.id},{b.id}",
            "places-0": str(b.id),
            "places-1": str(a.id),
            "reason": "B erreicht mehr Stadtteile außerhalb des Zentrums.",
        },
        follow_redirects=True,
    )
    assert "Die Reihenfolge ist vorgeschlagen; die anderen Ämter stimmen zu." in resp.get_data(as_text=True)
    tb = db.session.scalar(select(TieBreak))
    # the proposer cannot agree for the other office; still no award
    assert (
        refused(agree_to_tie, tb, world.ka) == "Eine zweite Person muss zustimmen bzw. die Ziehung bezeugen."
    )
    assert refused(agree_to_tie, tb, world.ka2).startswith("Es fehlt noch die Zustimmung von: AfWiFö")
    assert "Gleichstand" in refused(make_award, b, world.ka)
    page = afw.get(f"/calls/{world.call.id}/decision").get_data(as_text=True)
    assert "Dieser Reihenfolge zustimmen" in page and "B erreicht mehr Stadtteile" in page
    resp = afw.post(f"/ties/{tb.id}/agree", data={}, follow_redirects=True)
    assert "Der Gleichstand ist entschieden." in resp.get_data(as_text=True)

    rows = rows_by_id(world.call)
    assert (rows[b.id].rank, rows[a.id].rank) == (2, 3)
    assert rows[b.id].tie_by == "decision" and not rows[b.id].tie_open and rows[b.id].in_funding
    make_award(b, world.ka)
    db.session.commit()
    assert db.session.get(Proposal, b.id).state == "awarded"
    assert "Budget" in refused(make_award, a, world.ka)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "tie_breaks").order_by(AuditEvent.seq)
    ).all()
    assert actions == ["propose_tie_order", "resolve_tie"]

    resp = ka.get(f"/calls/{world.call.id}/vergabevermerk.pdf")
    text = " ".join(" ".join(pg.extract_text() for pg in PdfReader(io.BytesIO(resp.data)).pages).split())
    assert "Gleichstände" in text
    assert (
        f"{a.file_number}, {b.file_number}: Entscheidung der Ämter – 1. {b.file_number}, 2. {a.file_number}"
        in text
    )
    assert "B erreicht mehr Stadtteile außerhalb des Zentrums." in text
    assert "Karla KA (KA)" in text and "Wolfgang AfWiFö (AfWiFö)" in text


def test_lots_are_drawn_in_the_app_with_their_seed_and_a_witness(app, world, clock):
    world.call.lots_announced = True  # as published with the call (set here before any proposal)
    db.session.commit()
    _best, a, b = build(world, clock, [[5] * 6, [4] * 6, [4] * 6])
    tb = draw_lots(world.call, world.ka, [b.id, a.id])
    db.session.commit()
    assert tb.state == "proposed" and len(tb.seed) == 32
    assert tb.ranked == drawn_order([a.id, b.id], tb.seed)  # anyone can draw it again from the seed
    ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "draw_lots"))
    assert ev.data == {"seed": tb.seed, "ranked": tb.ranked}
    # no second draw, no refusing a draw, no witness by the one who drew
    assert "bereits entschieden" in refused(draw_lots, world.call, world.afw, [a.id, b.id])
    assert (
        refused(refuse_tie_order, tb, world.afw, "lieber nicht")
        == "Ein gezogenes Los gilt; es wird nicht wiederholt."
    )
    assert "zweite Person" in refused(agree_to_tie, tb, world.ka)
    afw = app.test_client()
    login(afw, "afw@x.test")
    page = afw.get(f"/calls/{world.call.id}/decision").get_data(as_text=True)
    assert tb.seed in page and "Ziehung als Zeugin oder Zeuge bestätigen" in page
    agree_to_tie(tb, world.ka2)  # a second person of the same office may witness
    db.session.commit()
    first = tb.ranked[0]
    rows = rows_by_id(world.call)
    assert rows[first].rank == 2 and rows[first].tie_by == "lot" and rows[first].in_funding
    make_award(db.session.get(Proposal, first), world.ka)
    db.session.commit()


def test_an_office_refuses_a_proposed_order_and_another_follows(app, world, clock):
    _best, a, b = build(world, clock, [[5] * 6, [4] * 6, [4] * 6])
    tb = propose_tie_order(world.call, world.ka, [a.id, b.id], "A zuerst")
    db.session.commit()
    assert refused(propose_tie_order, world.call, world.afw, [b.id, a.id], "B zuerst").startswith(
        "Über diesen Gleichstand ist bereits entschieden"
    )
    assert refused(refuse_tie_order, tb, world.afw, " ") == "Bitte geben Sie eine Begründung an."
    refuse_tie_order(tb, world.afw, "Die Begründung überzeugt nicht.")
    db.session.commit()
    assert tb.state == "refused" and tb.refusal == "Die Begründung überzeugt nicht."
    other = propose_tie_order(world.call, world.afw, [b.id, a.id], "B hat den besseren Zeitplan.")
    agree_to_tie(other, world.ka)
    db.session.commit()
    assert other.state == "resolved" and rows_by_id(world.call)[b.id].rank == 2


def test_a_conflicted_official_does_not_decide_a_tie(app, world, clock):
    _best, a, b = build(world, clock, [[5] * 6, [4] * 6, [4] * 6])
    declare_conflict(a, world.ka2, True, "Befreundet mit der Antragstellerin")
    db.session.commit()
    assert refused(propose_tie_order, world.call, world.ka2, [a.id, b.id], "A zuerst") == (
        f"Sie haben einen Interessenkonflikt mit {a.file_number}."
    )
    tb = propose_tie_order(world.call, world.afw, [a.id, b.id], "A zuerst")
    db.session.commit()
    assert refused(agree_to_tie, tb, world.ka2) == f"Sie haben einen Interessenkonflikt mit {a.file_number}."
