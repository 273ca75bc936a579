"""Read queries about a proposal that pages, rules and operations share."""

from __future__ import annotations


def open_clarification(p):
    return next((c for c in reversed(p.clarifications) if c.answered_at is None), None)


def submission_deadline_for(p):
    """The applicant's documented extension, else the call's deadline."""
    return p.personal_deadline or p.call.submission_deadline
