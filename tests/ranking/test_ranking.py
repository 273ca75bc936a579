"""The ranking of a call against hand-computed values: totals (mean and median), knock-outs, the spread
and strong disagreement, the tie-break rule, the corrected view, the budget line, and who moves up."""

from __future__ import annotations

import pathlib
import warnings

import pytest
from conftest import login
from rank_helpers import opened, reviewers, score, submitted
from sqlalchemy import select

from foerdercall.awards.models import Award
from foerdercall.awards.operations import make_award, sign_off
from foerdercall.extensions import db
from foerdercall.ranking.models import ProposalScore
from foerdercall.ranking.service import compute_ranking
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, sign_neutrality
from foerdercall.timeutil import minute_end
from foerdercall.workflow.engine import fire

# Criteria: innovation 20, economic effect 20, feasibility 20 (k.o. below 2), networking 15, city 10, costs 15.
# name: (amount €, rev1's scores, rev2's scores)
SCORES = {
    # means 4.5 everywhere: 90
    "A": (20_000, [5] * 6, [4] * 6),
    # feasibility 1.5: knocked out although 86 points (.2+.2+.06+.15+.1+.15)
    "E": (10_000, [5, 5, 1, 5, 5, 5], [5, 5, 2, 5, 5, 5]),
    # 80
    "B": (20_000, [4] * 6, [4] * 6),
    # means 4, 3, 3.5, 3.5, 3.5, 3.5: .16+.12+.14+.105+.07+.105 = 70
    "C": (15_000, [4, 3, 3, 3, 3, 3], [4, 3, 4, 4, 4, 4]),
    # means 3, 4, 3.5, ...: also 70; feasibility equal, economic effect higher: before C (DOMAIN.md)
    "D": (8_000, [3, 4, 3, 3, 3, 3], [3, 4, 4, 4, 4, 4]),
    # 100 and 20 points: 60, spread 80 -> strong disagreement
    "F": (8_000, [5] * 6, [1] * 6),
}
ORDER = ["A", "E", "B", "D", "C", "F"]
TOTALS = {"A": 90.0, "E": 86.0, "B": 80.0, "C": 70.0, "D": 70.0, "F": 60.0}


def build(world, clock, scores=SCORES):
    names = list(scores)
    ps = submitted(
        world,
        len(names),
        amounts=[scores[n][0] * 100 for n in names],
        titles=[f"Maßnahme {n}" for n in names],
    )
    opened(world, clock, ps)
    for p in ps:
        assign_reviewer(p, world.rev1, world.ka)
        assign_reviewer(p, world.rev2, world.ka)
        fire(p, "start_review", world.ka)
    db.session.commit()
    for name, p in zip(names, ps, strict=True):
        score(p, world.rev1, scores[name][1])
        score(p, world.rev2, scores[name][2])
    return dict(zip(names, ps, strict=True))


def by_name(ranking, ps):
    ids = {p.id: n for n, p in ps.items()}
    return {ids[r.proposal_id]: r for r in ranking.rows}


def test_totals_knock_outs_spread_and_ties(app, world, clock):
    ps = build(world, clock)
    ranking = compute_ranking(world.call)
    rows = by_name(ranking, ps)
    assert [next(n for n, p in ps.items() if p.id == r.proposal_id) for r in ranking.rows] == ORDER
    assert [r.rank for r in ranking.rows] == [1, 2, 3, 4, 5, 6]
    for name, total in TOTALS.items():
        assert rows[name].total == pytest.approx(total, abs=0.005), name
        assert rows[name].reviews == 2
    assert rows["C"].criteria == pytest.approx([4, 3, 3.5, 3.5, 3.5, 3.5])
    assert rows["E"].knockouts == ["feasibility"] and not rows["E"].fundable
    assert all(rows[n].fundable for n in ("A", "B", "C", "D", "F"))
    # the tie of C and D (70 points) is broken by the documented rule, and marked
    assert rows["C"].tie_broken and rows["D"].tie_broken and not rows["B"].tie_broken
    assert rows["F"].spread == pytest.approx(80.0) and rows["F"].disagreement
    assert rows["A"].spread == pytest.approx(20.0) and not rows["A"].disagreement
    assert rows["B"].spread == 0


def test_budget_line_and_funding_proposal(app, world, clock):
    ps = build(world, clock)  # budget 50.000 €
    ranking = compute_ranking(world.call)
    rows = by_name(ranking, ps)
    # A 20.000 (30.000 left), E knocked out, B 20.000 (10.000 left), D 8.000 (2.000 left), C 15.000 does not
    # fit: the line; F 8.000 does not fit either
    assert [n for n in ORDER if rows[n].in_funding] == ["A", "B", "D"]
    assert ranking.line_rank == rows["C"].rank == 5
    assert rows["C"].misses_budget and rows["F"].misses_budget and not rows["E"].misses_budget
    assert not rows["D"].below_line and not rows["B"].below_line
    assert [rows[n].cumulative_cents for n in ("A", "B", "D")] == [20_000_00, 40_000_00, 48_000_00]
    assert (ranking.proposed_cents, ranking.remaining_cents, ranking.committed_cents) == (
        48_000_00,
        2_000_00,
        0,
    )


def test_a_lapsed_award_lets_the_next_move_up(app, world, clock):
    ps = build(world, clock)
    for name in ("A", "B"):
        sign_off(ps[name], world.ka, "approve")
        sign_off(ps[name], world.afw, "approve")
        make_award(ps[name], world.ka)
    db.session.commit()
    rows = by_name(compute_ranking(world.call), ps)
    assert [n for n in ORDER if rows[n].in_funding] == ["A", "B", "D"]
    assert not any(r.moves_up for r in rows.values())

    award = db.session.scalar(select(Award).where(Award.proposal_id == ps["A"].id))
    fire(ps["A"], "lapse_award", None, now=minute_end(award.accept_by))
    db.session.commit()
    ranking = compute_ranking(world.call)
    rows = by_name(ranking, ps)
    # 20.000 € are back: C (15.000) now fits and moves up; D stayed in; F still does not fit
    assert ranking.returned_cents == 20_000_00 and ranking.committed_cents == 20_000_00
    assert [n for n in ORDER if rows[n].in_funding] == ["B", "D", "C"]
    assert rows["C"].moves_up and not rows["D"].moves_up and not rows["B"].moves_up
    assert rows["A"].state == "lapsed" and not rows["A"].in_funding
    assert rows["F"].misses_budget


def test_median_of_three_reviewers(app, world, clock):
    rev3 = reviewers([("Renate", None, "de")])[0]
    ps = submitted(world, 1)
    opened(world, clock, ps)
    p = ps[0]
    for r in (world.rev1, world.rev2, rev3):
        assign_reviewer(p, r, world.ka)
    fire(p, "start_review", world.ka)
    db.session.commit()
    score(p, world.rev1, [5] * 6)
    score(p, world.rev2, [1] * 6)
    score(p, rev3, [2, 2, 2, 2, 2, None])
    # mean: (5+1+2)/3 = 2.667 on five criteria, (5+1)/2 = 3 on costs -> 53.33 + .15*(3-2.667)/5*100 = 54.33
    mean = compute_ranking(world.call).rows[0]
    assert mean.total == pytest.approx(54.33, abs=0.005)
    world.call.score_aggregation = "median"
    db.session.commit()
    # median: 2 on five criteria, 3 (median of 5 and 1) on costs: 40 + .15*1/5*100 = 43
    median = compute_ranking(world.call).rows[0]
    assert median.criteria == pytest.approx([2, 2, 2, 2, 2, 3])
    assert median.total == pytest.approx(43.0)
    assert not median.fundable


def test_corrected_view_evens_out_harsh_and_lenient_reviewers(app, world, clock):
    # rev1 is harsh (20, 40, 60 points), rev2 lenient (60, 80, 100): the same judgement, shifted
    ps = build(
        world,
        clock,
        {"X": (5_000, [1] * 6, [3] * 6), "Y": (5_000, [2] * 6, [4] * 6), "Z": (5_000, [3] * 6, [5] * 6)},
    )
    rows = by_name(compute_ranking(world.call), ps)
    assert [rows[n].total for n in "XYZ"] == pytest.approx([40.0, 60.0, 80.0])
    # all review totals: mean 60, standard deviation sqrt(4000/6); each reviewer's z-scores are
    # -1.2247, 0, 1.2247; mapped back: 60 -/+ sqrt(4000/6) * sqrt(1.5) = 60 -/+ 31.62
    assert [rows[n].corrected for n in "XYZ"] == pytest.approx([28.38, 60.0, 91.62], abs=0.005)
    # the raw score stays what decides the order
    assert [r.rank for r in (rows["Z"], rows["Y"], rows["X"])] == [1, 2, 3]


def test_a_reviewer_whose_totals_do_not_vary_is_left_as_is(app, world, clock):
    # rev1 gives 60 points to all three (nothing to correct), rev2 gives 20, 60 and 100
    ps = build(
        world,
        clock,
        {"X": (5_000, [3] * 6, [1] * 6), "Y": (5_000, [3] * 6, [3] * 6), "Z": (5_000, [3] * 6, [5] * 6)},
    )
    rows = by_name(compute_ranking(world.call), ps)
    # all six totals: mean 60, variance 3200/6; rev2's variance 3200/3: factor sqrt(1/2), shift 60 - 60 sqrt(1/2)
    # rev2's 20 -> 31.716, 100 -> 88.284; rev1's 60 stay: X (60 + 31.716) / 2, Z (60 + 88.284) / 2
    assert [rows[n].corrected for n in "XYZ"] == pytest.approx([45.86, 60.0, 74.14], abs=0.005)


def test_each_submission_keeps_the_totals_the_ranking_orders_by(app, world, clock):
    ps = build(world, clock, {"E": SCORES["E"], "C": SCORES["C"]})
    stored = {n: db.session.get(ProposalScore, p.id) for n, p in ps.items()}
    assert (stored["C"].total_mean, stored["C"].knocked_mean) == (70.0, False)
    # E: feasibility 1.5 by the mean (below the minimum 2), 1.5 by the median of two as well
    assert (stored["E"].total_mean, stored["E"].knocked_mean, stored["E"].knocked_median) == (
        86.0,
        True,
        True,
    )
    assert stored["E"].total_median == 86.0


def test_the_migration_fills_in_the_totals_of_rows_stored_before_it(app, world, clock):
    """Aggregates stored before the totals were kept get them from the migration, the same as a submission's."""
    import importlib.util

    ps = build(world, clock)
    expected = {
        p.id: (s.total_mean, s.total_median, s.knocked_mean, s.knocked_median)
        for p in ps.values()
        if (s := db.session.get(ProposalScore, p.id))
    }
    table = ProposalScore.__table__
    db.session.execute(
        table.update().values(total_mean=None, total_median=None, knocked_mean=False, knocked_median=False)
    )
    path = next(
        (pathlib.Path(__file__).resolve().parents[2] / "migrations" / "versions").glob("*_2d3e4f5a6b7c_*.py")
    )
    spec = importlib.util.spec_from_file_location("proposal_totals_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    migration.backfill(db.session.connection())
    db.session.expire_all()
    assert {
        p.id: (s.total_mean, s.total_median, s.knocked_mean, s.knocked_median)
        for p in ps.values()
        if (s := db.session.get(ProposalScore, p.id))
    } == expected
    assert sum(1 for t in expected.values() if t[2]) == 1  # E is knocked out


def test_ranking_page_and_exports_hide_what_a_conflicted_official_may_not_see(app, world, clock):
    ps = build(world, clock)
    sign_neutrality(world.call, world.ka2)
    declare_conflict(ps["A"], world.ka2, True, "Verwandt")
    db.session.commit()
    ka, ka2 = app.test_client(), app.test_client()
    login(ka, "ka@x.test")
    login(ka2, "ka2@x.test")
    url = f"/calls/{world.call.id}"

    page = ka.get(url + "/ranking").get_data(as_text=True)
    assert "Maßnahme A" in page and "Budgetgrenze" in page and "starke Abweichung" in page
    assert (
        page.index("Maßnahme A")
        < page.index("Maßnahme E")
        < page.index("Maßnahme B")
        < page.index("Maßnahme C")
    )
    hidden = ka2.get(url + "/ranking").get_data(as_text=True)
    assert "Maßnahme A" not in hidden and "Sie haben einen Interessenkonflikt" in hidden
    assert "Maßnahme B" in hidden

    resp = ka.get(url + "/export/ranking.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    lines = resp.get_data().decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Rang;Aktenzeichen;Titel;Status;Gutachten;")
    assert lines[1].startswith(f"1;{ps['A'].file_number};Maßnahme A;Begutachtet;2;4.5;")
    assert len(lines) == 7

    scores = ka.get(url + "/export/scores.csv").get_data().decode("utf-8-sig").splitlines()
    assert scores[0] == "Rang;Aktenzeichen;Gutachter/in;Abgegeben;Kriterium;Gewicht;Punkte;Begründung"
    assert len(scores) == 1 + 6 * 2 * 6
    assert any(
        line.startswith(f"1;{ps['A'].file_number};Rita Reviewer;")
        and line.endswith(";5;Begründet: innovation")
        for line in scores
    )
    hidden_scores = ka2.get(url + "/export/scores.csv").get_data().decode("utf-8-sig")
    assert ps["A"].file_number not in hidden_scores and ps["B"].file_number in hidden_scores
    hidden_ranking = ka2.get(url + "/export/ranking.csv").get_data().decode("utf-8-sig")
    assert "Maßnahme A" not in hidden_ranking and "ausgeblendet (Interessenkonflikt)" in hidden_ranking

    resp = ka.get(url + "/export/ranking.xlsx")
    assert resp.status_code == 200
    import io

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(resp.get_data()))
    assert wb.sheetnames == ["Rangliste", "Bewertungen"]
    assert wb["Rangliste"]["C2"].value == "Maßnahme A"
    assert wb["Bewertungen"].max_row == 1 + 6 * 2 * 6
    assert wb["Bewertungen"]["H2"].value.startswith("Begründet: ")

    # reviewers and applicants get nothing
    rev = app.test_client()
    login(rev, "rev1@x.test")
    assert rev.get(url + "/ranking").status_code == 403
    assert rev.get(url + "/export/scores.csv").status_code == 403


def test_the_kept_ranking_follows_every_change(app, world, clock):
    """The ranking is kept per call while nothing it depends on changed: a review, a decision, a setting."""
    rev3 = reviewers([("Renate", None, "de")])[0]
    ps = submitted(world, 2, amounts=[20_000_00, 20_000_00])
    opened(world, clock, ps)
    for p in ps:
        for r in (world.rev1, world.rev2):
            assign_reviewer(p, r, world.ka)
        fire(p, "start_review", world.ka)
    db.session.commit()

    def same_as_fresh():
        kept, fresh = compute_ranking(world.call), compute_ranking(world.call, cached=False)
        assert kept.rows == fresh.rows and kept.line_rank == fresh.line_rank
        return kept

    score(ps[0], world.rev1, [5] * 6)  # the first of two reviews: still in review
    first = same_as_fresh()
    assert first.rows[0].reviews == 1 and first.rows[0].total == pytest.approx(100.0)
    assert first is compute_ranking(world.call)  # nothing changed: the kept one
    score(ps[0], world.rev2, [1] * 6)
    assert same_as_fresh().rows[0].total == pytest.approx(60.0)
    score(ps[1], world.rev1, [4] * 6)
    score(ps[1], world.rev2, [4] * 6)
    assert [r.proposal_id for r in same_as_fresh().rows] == [ps[1].id, ps[0].id]
    world.call.score_aggregation = "median"  # a setting of the call
    db.session.commit()
    assert same_as_fresh().aggregation == "median"
    sign_off(ps[1], world.ka, "approve")
    sign_off(ps[1], world.afw, "approve")
    make_award(ps[1], world.ka)
    db.session.commit()
    kept = same_as_fresh()
    assert kept.rows[0].state == "awarded" and kept.committed_cents == 20_000_00
    assert rev3  # a reviewer with nothing to do changes nothing
    assert compute_ranking(world.call) is kept
