"""Import every domain's effects so that ``workflow.engine.fire`` finds each effect that workflows/ names (as
``models.py`` does for the tables). The app factory refuses to start while a name has no function."""

from .awards import effects as award_effects  # noqa: F401
from .calls import effects as call_effects  # noqa: F401
from .outcomes import effects as outcome_effects  # noqa: F401
from .privacy import retention as retention_effects  # noqa: F401
from .proposals import effects as proposal_effects  # noqa: F401
from .ranking import ties as tie_effects  # noqa: F401
from .workflow.engine import unregistered


def check_complete() -> None:
    if missing := unregistered():
        raise RuntimeError(
            "workflows/ names conditions or effects that no module registers: " + "; ".join(missing)
        )
