"""The rulebook: who may do what, and when.

- ``actors``: who someone is for a rule (role, office, applicant, conflict) and who may fire a transition
  (the ``who`` of workflows/), the sign-off rule;
- ``conditions``: the conditions that workflows/ names (deadlines, budget, standstill, completeness);
- ``reading``: who may read a proposal, a document, a call's record, a job, a call's mail templates;
- ``transitions``: whether a transition may be fired (state, ``who``, conditions);
- ``rules``: every permission by its name, ``refusal(user, action, obj)``, ``may`` and, for operations,
  ``check`` (raises ``ActionRefused`` with the reason);
- ``loaders``: rows by their id for a person, through those rules (404/403), and ``require``.

Nothing here changes data: ``workflow.engine.fire`` asks these rules before a state changes, views ask them
before they show or do anything.
"""

from .rules import RULES, check, may, refusal
from .transitions import offered_steps, steps

__all__ = ["RULES", "check", "may", "offered_steps", "refusal", "steps"]
