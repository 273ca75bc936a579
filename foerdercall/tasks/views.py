"""The start page: a signed-in person's tasks (foerdercall.tasks.lists); guests see the open calls."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ..timeutil import now
from .lists import tasks_for

bp = Blueprint("tasks", __name__)


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("calls.index"))
    at = now()
    return render_template("tasks/index.html", tasks=tasks_for(current_user, at), at=at)
