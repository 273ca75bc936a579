"""Every label of a step, a state and a word of the call's mode reads right in both modes (issue 16): a grant
call's words never name an offer or a contract award, a procurement call's never an application or a grant."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale

import workflows
from foerdercall.labels import TERMS, state_label, step_label, term

# the words of the other mode, which a label must not use
FOREIGN = {
    ("grant", "de"): re.compile(r"Angebot|Zuschlag|Auftrag|Bieter"),
    ("grant", "en"): re.compile(r"\b(offers?|contracts?|contractors?|bidders?)\b", re.I),
    ("procurement", "de"): re.compile(r"\b(Antrag|Anträge|Anträgen|Antrags)\b|Zuwendung|Bewilligung"),
    ("procurement", "en"): re.compile(r"\b(applications?|grants?)\b", re.I),
}
KEYS = ("label", "done", "reason_label")  # what labels.step_label reads; "grant_<key>" overrides it


def _transitions():
    for name, module in workflows.WORKFLOWS.items():
        for t in module.TRANSITIONS:
            yield pytest.param(t, id=f"{name}.{t['trigger']}")


@pytest.mark.parametrize("t", list(_transitions()))
def test_each_step_reads_right_in_both_modes(t):
    assert {k for k in t if k.startswith("grant_")} <= {f"grant_{k}" for k in KEYS if k in t}
    for key in KEYS:
        if key not in t:
            continue
        for mode in ("procurement", "grant"):
            for lang in ("de", "en"):
                text = step_label(t, mode, lang, key=key)
                assert text and not FOREIGN[mode, lang].search(text), (mode, lang, text)


@pytest.mark.parametrize("name", list(workflows.WORKFLOWS))
def test_each_state_reads_right_in_both_modes(name):
    module = workflows.WORKFLOWS[name]
    assert set(getattr(module, "GRANT_STATE_LABELS", {})) <= set(module.STATES)
    for state in module.STATES:
        for mode in ("procurement", "grant"):
            for lang in ("de", "en"):
                text = state_label(name, state, lang, mode=mode)
                assert text and not FOREIGN[mode, lang].search(text), (mode, lang, text)


def test_each_word_of_the_mode_has_its_own_words_in_both_languages(app):
    with app.test_request_context():
        for lang in ("de", "en"):
            with force_locale(lang):
                for key in TERMS:
                    params = {name: 3 for name in re.findall(r"%\((\w+)\)s", str(TERMS[key][0]))}
                    words = {mode: term(mode, key, **params) for mode in ("procurement", "grant")}
                    assert words["procurement"] != words["grant"], (lang, key)
                    for mode, text in words.items():
                        assert not FOREIGN[mode, lang].search(text), (mode, lang, text)
