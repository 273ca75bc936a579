"""Amounts typed in the reader's language (issue 16): an English page accepts and shows "12,500.00", a German one
"12.500,00"; a plain "12500" is read in both; what cannot be an amount is a message, with the text kept."""

from __future__ import annotations

import pytest

from forms.awards import PaymentForm


def _form(app, lang: str, typed: str):
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        form = PaymentForm(formdata=_Post(amount=typed), meta={"csrf": False})
        form.validate()
        return form.amount.data, form.amount.errors, form.amount._value()


class _Post(dict):
    def getlist(self, key):
        return [self[key]] if key in self else []


@pytest.mark.parametrize(
    ("lang", "typed", "cents"),
    [
        ("en", "12,500.00", 1_250_000),
        ("en", "12500.5", 1_250_050),
        ("en", "12500", 1_250_000),
        ("de", "12.500,00", 1_250_000),
        ("de", "12500,5", 1_250_050),
        ("de", "12500", 1_250_000),
    ],
)
def test_an_amount_in_the_readers_way_is_read(app, lang, typed, cents):
    data, errors, _shown = _form(app, lang, typed)
    assert (data, errors) == (cents, [])


def test_a_wrong_amount_is_a_message_and_stays_as_typed(app):
    data, errors, shown = _form(app, "en", "twelve")
    assert data is None and errors and shown == "twelve"


@pytest.mark.parametrize(("lang", "expected"), [("en", "12,500.00"), ("de", "12.500,00")])
def test_a_stored_amount_is_shown_in_the_readers_way(app, lang, expected):
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        form = PaymentForm(meta={"csrf": False}, data={"amount": 1_250_000})
        assert form.amount._value() == expected
