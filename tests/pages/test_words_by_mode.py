"""A grant call speaks of Anträge and Zuwendungen (English: applications and grants), a procurement call of
Angebote and Zuschläge (offers and contract awards), on the applicant's pages and in the receipt and award
mails (issue 16)."""

from __future__ import annotations

import re

import pytest
from appform.test_answers_everywhere import _youth_proposal
from conftest import approve_after_deadline, fill_draft, login
from flask_babel import force_locale
from sqlalchemy import select

from foerdercall.awards.operations import make_award
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.policy import refusal
from foerdercall.proposals.operations import start_draft
from foerdercall.workflow.engine import fire

# whole words of each mode that a page or mail about one proposal uses
WORDS = {
    ("grant", "de"): ("Antrag", "Zuwendung"),
    ("grant", "en"): ("application", "grant"),
    ("procurement", "de"): ("Angebot", "Zuschlag"),
    ("procurement", "en"): ("offer", "contract"),
}
FOREIGN = {
    ("grant", "de"): re.compile(r"Angebot|Zuschlag|Auftragssumme"),
    ("grant", "en"): re.compile(r"\b(offers?|proposals?|contracts?)\b", re.I),
    ("procurement", "de"): re.compile(r"\b(Antrag|Anträge|Zuwendung|Zuwendungsbetrag)\b"),
    # (the default form, which the procurement call has, titles its section "Your proposal": the call's own text)
    ("procurement", "en"): re.compile(r"\b(applications?|grants?)\b", re.I),
}


def visible(html: str) -> str:
    """The text a reader sees: without the tags (links and ids name "proposals"), scripts and styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_words(mode: str, lang: str, where: str, text: str, words=WORDS) -> None:
    for word in words[mode, lang]:
        assert re.search(rf"\b{word}\b", text, re.I), (where, word, text[:3000])
    foreign = sorted({m.group(0) for m in FOREIGN[mode, lang].finditer(text)})
    assert not foreign, (where, foreign, text[:3000])


def _awarded(app, world, clock, mode: str, lang: str):
    """A submitted, approved and awarded proposal of a call of the mode (the grant call has the demo's youth
    form, whose questions speak of a Zuwendung), its applicant reading in ``lang``."""
    world.applicant.locale = lang
    if mode == "grant":
        call, p = _youth_proposal(world, clock)
        call.reviewers_per_proposal = 1  # one review completes it, as in the world's call
    else:
        call = world.call
        p = fill_draft(start_draft(call, world.applicant), world.applicant)
        fire(p, "submit", world.applicant)
    approve_after_deadline(world, clock, call, p)
    make_award(p, world.ka)
    db.session.commit()
    return p


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("mode", ["grant", "procurement"])
def test_the_applicant_reads_the_words_of_the_calls_mode(app, world, clock, mode, lang):
    p = _awarded(app, world, clock, mode, lang)
    client = app.test_client()
    login(client, world.applicant.email)
    detail = visible(client.get(f"/proposals/{p.id}").get_data(as_text=True))
    assert_words(mode, lang, "proposal page", detail)
    mine = visible(client.get("/my").get_data(as_text=True))
    assert FOREIGN[mode, lang].search(mine) is None, mine
    state = {
        ("grant", "de"): "Zuwendung bewilligt",
        ("grant", "en"): "Grant awarded",
        ("procurement", "de"): "Zuschlag erteilt",
        ("procurement", "en"): "Awarded",
    }[mode, lang]
    assert state in mine  # the list names the state in the call's words
    mails = {
        m.kind: f"{m.subject}\n{m.body}"
        for m in db.session.scalars(select(OutboxMail).where(OutboxMail.recipient_id == world.applicant.id))
    }
    award_word = {key: words[1:] for key, words in WORDS.items()}  # the award mail names the award only
    assert_words(mode, lang, "award mail", mails["award"], award_word)
    receipt = mails["receipt"]
    assert FOREIGN[mode, lang].search(receipt) is None, receipt
    with app.test_request_context(), force_locale(lang):
        refused = refusal(world.ka, "award", p)  # awarded already: the step and the state in the call's words
    assert refused and FOREIGN[mode, lang].search(refused) is None, refused
    assert state in refused
    assert {
        ("grant", "de"): "Ihr Antrag „",
        ("grant", "en"): "we have received your application",
        ("procurement", "de"): "Ihr Angebot „",
        ("procurement", "en"): "we have received your offer",
    }[mode, lang] in receipt
