"""Exports of a call's ranking and of every review's detail, as CSV and XLSX.

The rows come from :func:`compute_ranking` for the requesting official: proposals they declared a
conflict with (or submitted) keep their place in the ranking export with the file number only, and are
left out of the scores export.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import User
from ..appform.display import plain, shown_answers
from ..calls.models import Criterion
from ..extensions import db
from ..i18n import current_lang, format_dt
from ..labels import state_label
from ..proposals.models import Attachment, Proposal
from ..reviews.models import Review, ReviewScore
from ..sheets import write_csv, write_xlsx
from .service import Ranking, tie_note

SCORES_BATCH = 500  # score lines read per query while the scores export is written


def _yes(flag: bool) -> str:
    return _("ja") if flag else _("nein")


def _num(value: float | None):
    return round(value, 2) if value is not None else None


def ranking_table(ranking: Ranking) -> tuple[list[str], Iterable[list]]:
    head = [_("Rang"), _("Aktenzeichen"), _("Titel"), _("Status"), _("Gutachten")]
    head += [f"{c['name']} ({c['weight']} %)" for c in ranking.criteria]
    head += [
        _("Punkte (0–100)"),
        _("Bereinigt um strenge/milde Gutachter"),
        _("Spannweite"),
        _("Starke Abweichung"),
        _("K.-o."),
        _("Förderfähig"),
        _("Betrag (netto, Cent)"),
        _("Förderliste"),
        _("Kumuliert (Cent)"),
        _("Rückt nach"),
        _("Gleichstand"),
    ]

    def rows():
        for r in ranking.rows:
            if r.proposal_id in ranking.hidden:
                yield [r.rank, r.file_number, _("ausgeblendet (Interessenkonflikt)")] + [None] * (
                    len(head) - 3
                )
                continue
            yield [
                r.rank,
                r.file_number,
                r.title,
                state_label("proposal", r.state),
                r.reviews,
                *[_num(v) for v in r.criteria],
                _num(r.total),
                _num(r.corrected),
                _num(r.spread),
                _yes(r.disagreement),
                ", ".join(r.knockouts),
                _yes(r.fundable),
                r.amount_cents,
                _yes(r.in_funding),
                r.cumulative_cents,
                _yes(r.moves_up),
                tie_note(r),
            ]

    return head, rows()


def answers_table(ranking: Ranking, call, viewer) -> tuple[list[str], Iterable[list]]:
    """One line per received proposal (by rank, then by receipt), one column per question of the call's form, each
    answer as the reader reads it; an attachment question is the number of its files. A proposal the viewer may
    not see (a conflict, their own) keeps its line with the file number only. Read in batches, as the scores
    export."""
    lang = current_lang()
    definition = call.form_definition
    questions = list(definition.questions())
    head = [_("Rang"), _("Aktenzeichen"), _("Status")]
    head += [
        q.label.get(lang) + (" (" + _("Dateien") + ")" if q.type == "attachment" else "") for q in questions
    ]
    rank = {r.proposal_id: r.rank for r in ranking.rows}
    received = db.session.execute(
        select(Proposal.id, Proposal.file_seq, Proposal.applicant_id).where(
            Proposal.call_id == call.id, Proposal.submitted_at.is_not(None)
        )
    ).all()
    hidden = set(ranking.hidden) | {pid for pid, _seq, applicant in received if applicant == viewer.id}
    order = [pid for *_r, pid in sorted((rank.get(pid) or 10**9, seq or 0, pid) for pid, seq, _a in received)]

    def rows():
        for start in range(0, len(order), SCORES_BATCH):
            batch = order[start : start + SCORES_BATCH]
            found = {
                row.id: row
                for row in db.session.execute(
                    select(Proposal.id, Proposal.file_number, Proposal.state, Proposal.answers).where(
                        Proposal.id.in_(batch)
                    )
                )
            }
            files: dict[tuple[int, str], int] = {}
            for pid, kind in db.session.execute(
                select(Attachment.proposal_id, Attachment.kind).where(Attachment.proposal_id.in_(batch))
            ):
                files[(pid, kind)] = files.get((pid, kind), 0) + 1
            for pid in batch:
                p = found[pid]
                if pid in hidden:
                    yield [rank.get(pid), p.file_number, _("ausgeblendet (Interessenkonflikt)")] + [
                        None
                    ] * len(questions)
                    continue
                shown = {
                    a.question.key: plain(a)
                    for section in shown_answers(definition, p.answers or {}, lang)
                    for a in section.answers
                }
                yield [
                    rank.get(pid),
                    p.file_number,
                    state_label("proposal", p.state),
                    *[
                        files.get((pid, q.key), 0) if q.type == "attachment" else shown.get(q.key, "")
                        for q in questions
                    ],
                ]

    return head, rows()


def scores_table(ranking: Ranking, call) -> tuple[list[str], Iterable[list]]:
    """One line per review and criterion: reviewer, criterion, score, justification (ranking order).

    The lines are put in order by their keys alone; the justifications (the bulk) are read in batches of
    ``SCORES_BATCH`` as the file is written, so a large call's export is never held in memory at once."""
    visible = {r.proposal_id: r for r in ranking.rows if r.proposal_id not in ranking.hidden}
    head = [
        _("Rang"),
        _("Aktenzeichen"),
        _("Gutachter/in"),
        _("Abgegeben"),
        _("Kriterium"),
        _("Gewicht"),
        _("Punkte"),
        _("Begründung"),
    ]
    keys = (
        select(ReviewScore.id, Review.proposal_id, User.name, Criterion.position)
        .join(User, User.id == Review.reviewer_id)
        .join(ReviewScore, ReviewScore.review_id == Review.id)
        .join(Criterion, Criterion.id == ReviewScore.criterion_id)
        .where(Criterion.call_id == call.id, Review.submitted_at.is_not(None))
    )
    order = sorted(
        (
            (r.rank or 10**9, r.file_seq, name, pos, sid)
            for sid, pid, name, pos in db.session.execute(keys)
            if (r := visible.get(pid)) is not None
        )
    )
    ids = [k[-1] for k in order]
    del order

    def rows():
        shown: dict = {}  # each moment formatted once
        na = _("nicht anwendbar")
        for start in range(0, len(ids), SCORES_BATCH):
            batch = ids[start : start + SCORES_BATCH]
            q = (
                select(
                    ReviewScore.id,
                    Review.proposal_id,
                    User.name,
                    Review.submitted_at,
                    Criterion.name,
                    Criterion.weight,
                    ReviewScore.score,
                    ReviewScore.justification,
                )
                .join(Review, Review.id == ReviewScore.review_id)
                .join(User, User.id == Review.reviewer_id)
                .join(Criterion, Criterion.id == ReviewScore.criterion_id)
                .where(ReviewScore.id.in_(batch))
            )
            lines = {}
            for sid, pid, name, at, cname, weight, score, text in db.session.execute(q):
                r = visible[pid]
                when = shown.get(at)
                if when is None:
                    when = shown[at] = format_dt(at)
                lines[sid] = [
                    r.rank,
                    r.file_number,
                    name,
                    when,
                    cname,
                    weight,
                    score if score is not None else na,
                    text,
                ]
            for sid in batch:
                yield lines[sid]

    return head, rows()


def to_csv(out: IO[bytes], head: list[str], rows: Iterable[list]) -> None:
    """UTF-8 with BOM and semicolons: opens as columns in a German spreadsheet."""
    write_csv(out, head, rows, delimiter=";")


def to_xlsx(out: IO[bytes], sheets: list[tuple[str, list[str], Iterable[list]]]) -> None:
    write_xlsx(out, sheets)
