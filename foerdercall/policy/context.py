"""What a rule is asked about when a transition is fired: the object, who acts, when, and with what."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Context:
    obj: Any
    actor: Any  # a User, or None for the system (worker)
    now: dt.datetime
    reason: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    audit_data: dict[str, Any] = field(default_factory=dict)
    # False when a page only asks whether the step is possible (to show its button): nothing is locked
    firing: bool = True
