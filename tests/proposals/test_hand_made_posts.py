"""The draft's operation keeps the rule of the form (tests/test_hand_made_values.py): only a field of action of
the call is stored, whoever calls it."""

from __future__ import annotations

import pytest

from foerdercall.proposals.operations import save_draft, start_draft


def test_the_operation_refuses_a_field_of_action_the_call_does_not_have(app, world, clock):
    from foerdercall.errors import ActionRefused

    p = start_draft(world.call, world.applicant)
    with pytest.raises(ActionRefused):
        save_draft(p, world.applicant, {"field_of_action": "x" * 500})
