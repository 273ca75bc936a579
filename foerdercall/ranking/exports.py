"""The tables of a call's ranking and of every review's detail, for the CSV and XLSX exports (written by
:mod:`foerdercall.spreadsheet`).

The rows come from :func:`compute_ranking` for the requesting official: proposals they declared a
conflict with (or submitted) keep their place in the ranking export with the file number only, and are
left out of the scores export.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import User
from ..calls.models import Criterion
from ..extensions import db
from ..i18n import format_dt
from ..reviews.models import Review, ReviewScore
from ..workflow.engine import state_label
from .service import Ranking


def _yes(flag: bool) -> str:
    return _("ja") if flag else _("nein")


def _num(value: float | None):
    return round(value, 2) if value is not None else None


def ranking_table(ranking: Ranking) -> tuple[list[str], list[list]]:
    head = [_("Rang"), _("Aktenzeichen"), _("Titel"), _("Status"), _("Gutachten")]
    head += [f"{c['name']} ({c['weight']} %)" for c in ranking.criteria]
    head += [_("Punkte (0–100)"), _("Bereinigt um strenge/milde Gutachter"), _("Spannweite"),
             _("Starke Abweichung"), _("K.-o."), _("Förderfähig"), _("Betrag (netto, Cent)"),
             _("Förderliste"), _("Kumuliert (Cent)"), _("Rückt nach"), _("Gleichstand aufgelöst")]
    rows = []
    for r in ranking.rows:
        if r.proposal_id in ranking.hidden:
            rows.append([r.rank, r.file_number, _("ausgeblendet (Interessenkonflikt)")]
                        + [None] * (len(head) - 3))
            continue
        rows.append([r.rank, r.file_number, r.title, state_label("proposal", r.state), r.reviews, *[_num(v) for v in r.criteria],
                     _num(r.total), _num(r.corrected), _num(r.spread), _yes(r.disagreement),
                     ", ".join(r.knockouts), _yes(r.fundable), r.amount_cents,
                     _yes(r.in_funding), r.cumulative_cents, _yes(r.moves_up), _yes(r.tie_broken)])
    return head, rows


def scores_table(ranking: Ranking, call) -> tuple[list[str], list[list]]:
    """One line per review and criterion: reviewer, criterion, score, justification (ranking order)."""
    visible = {r.proposal_id: r for r in ranking.rows if r.proposal_id not in ranking.hidden}
    head = [_("Rang"), _("Aktenzeichen"), _("Gutachter/in"), _("Abgegeben"), _("Kriterium"), _("Gewicht"),
            _("Punkte"), _("Begründung")]
    q = (select(Review.proposal_id, User.name, Review.submitted_at, Criterion.name, Criterion.weight,
                ReviewScore.score, ReviewScore.justification, Criterion.position)
         .join(User, User.id == Review.reviewer_id)
         .join(ReviewScore, ReviewScore.review_id == Review.id)
         .join(Criterion, Criterion.id == ReviewScore.criterion_id)
         .where(Criterion.call_id == call.id, Review.submitted_at.is_not(None)))
    lines = []
    shown: dict = {}  # each moment formatted once
    na = _("nicht anwendbar")
    for pid, name, at, cname, weight, score, text, pos in db.session.execute(q):
        r = visible.get(pid)
        if r is None:
            continue
        when = shown.get(at)
        if when is None:
            when = shown[at] = format_dt(at)
        lines.append(((r.rank or 10**9, r.file_seq, name, pos),
                      [r.rank, r.file_number, name, when, cname, weight, score if score is not None else na, text]))
    lines.sort(key=lambda x: x[0])
    return head, [line for _k, line in lines]
