"""Hostile posts to the money of a grant: the recipient's drawdowns, the officials' payment or refusal of them,
claims back and their repayment; nothing is a 500, a refused post changes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import login
from hypothesis import strategies as st
from sqlalchemy import select
from test_fuzz_forms import VALUE, fields, fuzz, post, show

from foerdercall.awards.models import Claim, Drawdown
from foerdercall.extensions import db

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "money"))
from test_grant_money import grant_in_implementation  # noqa: E402

AMOUNTS = st.one_of(st.sampled_from(["1,00", "8.000,00", "25.000,00", "0", "-5", "1e9", "²", ""]), VALUE)


def test_the_money_forms_of_a_grant(app, world, clock, backend):
    _call, p = grant_in_implementation(world, clock)
    ka, applicant = app.test_client(), app.test_client()
    login(ka, world.ka.email)
    login(applicant, world.applicant.email)

    def body(data):
        post(applicant, f"/proposals/{p.id}/drawdowns", data, saves_on_error=True)
        for did in db.session.scalars(select(Drawdown.id).order_by(Drawdown.id.desc()).limit(2)):
            post(ka, f"/proposals/{p.id}/drawdowns/{did}/{data.get('step') or 'pay'}", data)
        post(ka, f"/proposals/{p.id}/claims", data, saves_on_error=True)
        for cid in db.session.scalars(select(Claim.id).order_by(Claim.id.desc()).limit(2)):
            post(ka, f"/proposals/{p.id}/claims/{cid}/repaid", data)
        show(ka, f"/proposals/{p.id}")
        show(applicant, f"/proposals/{p.id}")

    fuzz(
        backend,
        fields(
            "amount",
            "purpose",
            "cost_item",
            "reason",
            "step",
            amount=AMOUNTS,
            step=st.sampled_from(["pay", "refuse", "x"]),
        ),
        body,
        explicit=(
            {"amount": "8.000,00", "purpose": "Honorare", "step": "pay"},
            {"amount": "1.000,00", "reason": "Zu viel ausgezahlt", "step": "refuse"},
        ),
    )
