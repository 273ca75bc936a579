"""Whether a transition of workflows/ may be fired: from this state, by this person (its ``who``), with its
conditions holding. ``workflow.engine.fire`` asks these rules before it changes a state; pages ask
:func:`transition_refusal` to show a step only when it is possible, or disabled with the reason."""

from __future__ import annotations

from typing import NamedTuple

from flask_babel import gettext as _

from workflows import transitions_of, workflow_name

from ..labels import state_label, step_label
from ..timeutil import now
from . import checklist  # noqa: F401 - registers the publish condition (publication_checklist)
from .actors import may_fire
from .conditions import CONDITIONS
from .context import Context


def state_refusal(t: dict, obj) -> str | None:
    if obj.state in t["source"]:
        return None
    return _(
        "„%(action)s“ ist im Status „%(state)s“ nicht möglich.",
        action=step_label(t, obj),
        state=state_label(workflow_name(obj), obj.state, mode=obj),
    )


def who_refusal(t: dict, obj, actor) -> str | None:
    if may_fire(t, obj, actor):
        return None
    return _("Sie dürfen „%(action)s“ hier nicht ausführen.", action=step_label(t, obj))


def conditions_refusal(t: dict, ctx: Context) -> str | None:
    for name in t.get("conditions", ()):
        if message := CONDITIONS[name](ctx):
            return message
    return None


def transition_refusal(t: dict, obj, actor, **params) -> str | None:
    """Why the actor cannot fire ``t`` on ``obj`` now (None: they can), as fire() would say it; nothing is
    locked, and the amounts a form would send are taken as their defaults."""
    ctx = Context(obj=obj, actor=actor, now=now(), params=params, firing=False)
    return state_refusal(t, obj) or who_refusal(t, obj, actor) or conditions_refusal(t, ctx)


def applies(t: dict, ctx: Context) -> bool:
    """Whether the step belongs to this case at all: its ``applies_if`` conditions hold (a standstill only from
    the threshold on). A step that does not apply is not offered, not even disabled."""
    return not any(CONDITIONS[name](ctx) for name in t.get("applies_if", ()))


def steps(obj, actor) -> dict[str, tuple[dict, str | None]]:
    """The steps a page offers the actor here: each transition they may fire from this state (not the worker's)
    that applies to the case, by trigger, with None when it is possible now or the reason why not yet (the
    button is shown disabled)."""
    if actor is None or not actor.is_authenticated:
        return {}
    ctx = Context(obj=obj, actor=actor, now=now(), firing=False)
    return {
        t["trigger"]: (t, conditions_refusal(t, ctx))
        for t in transitions_of(workflow_name(obj))
        if tuple(t["who"]) != ("system",)
        and state_refusal(t, obj) is None
        and who_refusal(t, obj, actor) is None
        and applies(t, ctx)
    }


class Offered(NamedTuple):
    t: dict  # the transition
    not_yet: str | None  # why it is not possible yet (the button is disabled), None: possible now
    primary: bool  # the one step the page puts first
    official: bool  # taken by an office: the form offers an internal note


def offered_steps(obj, actor, skip=()) -> list[Offered]:
    """The steps of :func:`steps` in the order a page shows them: the one primary step first, then the other
    possible ones, the irreversible ones, and those not possible yet. The primary step is the regular way on:
    the first possible one (in the workflow's order) that is neither irreversible nor an exception that needs
    a reason (a request for documents, a reopening); failing that, the first that is not irreversible (an
    irreversible step is never put first)."""
    offered = [(t, not_yet) for trigger, (t, not_yet) in steps(obj, actor).items() if trigger not in skip]
    possible = [t for t, not_yet in offered if not_yet is None]
    regular = [t for t in possible if not t.get("irreversible") and not t.get("reason_required")]
    candidates = regular or [t for t in possible if not t.get("irreversible")]  # never an irreversible one
    first = candidates[0] if candidates else None

    def rank(item) -> int:
        t, not_yet = item
        return 0 if t is first else 3 if not_yet else 2 if t.get("irreversible") else 1

    return [
        Offered(t, not_yet, t is first, any(w.partition(":")[0] == "official" for w in t["who"]))
        for t, not_yet in sorted(offered, key=rank)
    ]
