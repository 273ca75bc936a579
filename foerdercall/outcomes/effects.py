"""The effects of the indicator value workflow (workflows/indicator.py), and the values a report brings."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from ..extensions import db
from ..policy.context import Context
from ..workflow.engine import effect
from .models import IndicatorValue
from .values import plain

# A report's achieved values, as ``fire`` gets them: {indicator key: (value, comment)}
Values = Mapping[str, tuple[Decimal, str]]


def add_report_values(ctx: Context, report) -> None:
    """The achieved values the report brings (``values`` of the transition's params): one row each, reported;
    the report's event lists them."""
    values: Values = ctx.params.get("values") or {}
    evidence = ctx.params.get("evidence_id")
    for key, (value, comment) in values.items():
        db.session.add(
            IndicatorValue(
                proposal_id=report.proposal_id,
                report=report,
                indicator=key,
                value=value,
                comment=comment,
                source="report",
                evidence_id=evidence,
                reported_by_id=ctx.actor.id,
                reported_at=ctx.now,
            )
        )
    if values:
        ctx.audit_data["indicators"] = {k: plain(v) for k, (v, _comment) in values.items()}
    if values and evidence:
        ctx.audit_data["evidence_id"] = evidence


@effect
def note_value_review(ctx: Context):
    """An official confirmed the value, or corrected it (``value``: the corrected value, with the reason)."""
    v = ctx.obj
    v.reviewed_by_id, v.reviewed_at, v.review_reason = ctx.actor.id, ctx.now, ctx.reason
    ctx.audit_data.update(indicator=v.indicator, reported=plain(v.value))
    if (corrected := ctx.params.get("value")) is not None:
        ctx.audit_data["before"] = plain(v.counted)
        v.corrected = corrected
        ctx.audit_data["corrected"] = plain(corrected)
