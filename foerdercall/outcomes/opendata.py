"""Open data of a call in the two standards of the field (issue 15): an OCDS release package for a procurement call
(tender, awards, contracts, their implementation with milestones and transactions) and a 360Giving grant package for
a grant call. Personal data never leaves through them: a contractor or grantee who applied as a private person is
named by a pseudonymous identifier only (as in the public register)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import select

from workflows import MilestoneState, PaymentState, ProposalState

from ..appform.places import place_label
from ..awards.models import Award, Milestone, Payment
from ..calls.models import Call
from ..extensions import db
from ..proposals.models import Proposal
from ..timeutil import now, to_berlin
from ..urls import public_url

PRIVATE = "Privatperson (nicht veröffentlicht)"
# measures the public sees: the award accepted (in implementation, reported, completed) or lapsed/ended
PUBLISHED = (
    ProposalState.IN_IMPLEMENTATION,
    ProposalState.FINAL_REPORT_SUBMITTED,
    ProposalState.COMPLETED,
    ProposalState.TERMINATED,
)
OCDS_ACTIVE = "active"  # the OCDS contract status of a measure being carried out
OCDS_ENDED = "terminated"  # the OCDS contract status of one completed or ended early (no longer active)
CONTRACT_STATUS = {
    ProposalState.IN_IMPLEMENTATION: OCDS_ACTIVE,
    ProposalState.FINAL_REPORT_SUBMITTED: OCDS_ACTIVE,
    ProposalState.COMPLETED: OCDS_ENDED,
    ProposalState.TERMINATED: OCDS_ENDED,
}


def _iso(value: dt.datetime | None) -> str | None:
    return to_berlin(value).isoformat() if value is not None else None


def _eur(cents: int) -> float:
    return round(cents / 100, 2)


def _measures(call: Call) -> list[tuple[Proposal, Award, list[Milestone], list[Payment]]]:
    rows = db.session.execute(
        select(Proposal, Award)
        .join(Award, Award.proposal_id == Proposal.id)
        .where(Proposal.call_id == call.id, Proposal.state.in_(PUBLISHED))
        .order_by(Proposal.file_seq)
    ).all()
    ids = [p.id for p, _a in rows]
    milestones: dict[int, list[Milestone]] = {}
    for m in db.session.scalars(
        select(Milestone).where(Milestone.proposal_id.in_(ids)).order_by(Milestone.position, Milestone.id)
    ):
        milestones.setdefault(m.proposal_id, []).append(m)
    return [
        (p, a, milestones.get(p.id, []), [pay for pay in a.payments if pay.state == PaymentState.PAID])
        for p, a in rows
    ]


def _operator() -> dict[str, str]:
    """The city that buys or funds (``OPERATOR_NAME``), as an organisation reference."""
    name = current_app.config["OPERATOR_NAME"]
    return {"id": "operator", "name": name}


def _recipient(p: Proposal) -> tuple[str, str]:
    """(identifier, name) of the contractor or grantee: the organisation, or a pseudonym for a private person."""
    organisation = (p.applicant.organisation or "").strip()
    return f"applicant-{p.applicant_id}", organisation or PRIVATE


def ocds_package(call: Call) -> dict[str, Any]:
    """One release of the call's contracting process, with every measure the public may see."""
    prefix = current_app.config["OCDS_PREFIX"]
    ocid = f"{prefix}-{call.code}"
    at = now()
    buyer = _operator()
    parties: dict[str, dict[str, Any]] = {
        buyer["id"]: {**buyer, "roles": ["buyer", "procuringEntity"]},
    }
    awards, contracts = [], []
    tags = ["tender"]
    for p, a, milestones, payments in _measures(call):
        supplier_id, supplier_name = _recipient(p)
        parties.setdefault(supplier_id, {"id": supplier_id, "name": supplier_name, "roles": ["supplier"]})
        supplier = {"id": supplier_id, "name": supplier_name}
        amount = {"amount": _eur(a.amount_cents - a.released_cents), "currency": "EUR"}
        award_id = f"{call.code}-{p.file_number}"
        awards.append(
            {
                "id": award_id,
                "title": p.title,
                "status": "active",
                "date": _iso(a.awarded_at),
                "value": amount,
                "suppliers": [supplier],
                "contractPeriod": {
                    "startDate": _iso(a.accepted_at),
                    "endDate": _iso(a.implementation_ends_at),
                },
            }
        )
        contracts.append(
            {
                "id": award_id,
                "awardID": award_id,
                "title": p.title,
                "status": CONTRACT_STATUS[ProposalState(p.state)],
                "value": amount,
                "dateSigned": _iso(a.accepted_at),
                "period": {"startDate": _iso(a.accepted_at), "endDate": _iso(a.implementation_ends_at)},
                "implementation": {
                    "milestones": [
                        {
                            "id": str(m.id),
                            "title": m.title,
                            "type": "delivery",
                            "dueDate": _iso(m.due_at),
                            "status": "met" if m.state == MilestoneState.ACCEPTED else "scheduled",
                            **({"dateMet": _iso(m.accepted_at)} if m.accepted_at else {}),
                        }
                        for m in milestones
                    ],
                    "transactions": [
                        {
                            "id": str(pay.id),
                            "date": _iso(pay.paid_at),
                            "value": {"amount": _eur(pay.amount_cents), "currency": "EUR"},
                            "payer": buyer,
                            "payee": supplier,
                        }
                        for pay in payments
                    ],
                },
            }
        )
    if awards:
        tags += ["award", "contract", "implementation"]
    release = {
        "ocid": ocid,
        "id": f"{ocid}-{to_berlin(at).strftime('%Y%m%dT%H%M%S')}",
        "date": _iso(at),
        "tag": tags,
        "initiationType": "tender",
        "language": "de",
        "parties": list(parties.values()),
        "buyer": buyer,
        "tender": {
            "id": call.code,
            "title": call.title,
            "description": call.description or "",
            "status": "active" if call.state == "published" else "complete",
            "value": {"amount": _eur(call.budget_cents), "currency": "EUR"},
            "procurementMethod": "open",
            "mainProcurementCategory": "services",
            "tenderPeriod": {"startDate": _iso(call.opens_at), "endDate": _iso(call.submission_deadline)},
            "procuringEntity": buyer,
        },
        "awards": awards,
        "contracts": contracts,
    }
    return {
        "uri": _self_url(call, "ocds"),
        "version": "1.1",
        "publishedDate": _iso(at),
        "publisher": {"name": buyer["name"]},
        "releases": [release],
    }


def giving_package(call: Call) -> dict[str, Any]:
    """The call's grants in the 360Giving shape (a grant to a private person: a pseudonym, never the name)."""
    prefix = current_app.config["GRANT_PREFIX"]
    funder = _operator()
    grants = []
    for p, a, _milestones, _payments in _measures(call):
        recipient_id, recipient_name = _recipient(p)
        grant: dict[str, Any] = {
            "id": f"{prefix}-{call.code}-{p.file_number}",
            "title": p.title,
            "description": p.summary or p.title,
            "currency": "EUR",
            "amountAppliedFor": _eur(p.requested_amount_cents),
            "amountAwarded": _eur(a.amount_cents - a.released_cents),
            "amountDisbursed": _eur(a.paid_cents),  # net of what was claimed back and repaid
            "awardDate": _iso(a.awarded_at),
            "plannedDates": [{"startDate": _iso(a.accepted_at), "endDate": _iso(a.implementation_ends_at)}],
            "fundingOrganization": [funder],
            "grantProgramme": [{"code": call.code, "title": call.title}],
            "fromOpenCall": "Yes",
            "dateModified": _iso(now()),
        }
        if recipient_name == PRIVATE:
            grant["recipientIndividual"] = {"id": recipient_id, "name": PRIVATE}
        else:
            grant["recipientOrganization"] = [{"id": recipient_id, "name": recipient_name}]
        if p.place:
            grant["beneficiaryLocation"] = [
                {"name": f"Leipzig, {place_label(p.place, 'de')}", "countryCode": "DE"}
            ]
        grants.append(grant)
    return {
        "grants": grants,
        "version": "1.4",
    }  # none yet: an empty list (the standard wants one grant or more)


def _self_url(call: Call, kind: str) -> str:
    return f"{public_url()}/calls/{call.id}/open-data/{kind}.json"
