from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..policy.loaders import get_call_for, require
from .operations import call_dashboard

bp = Blueprint("dashboard", __name__)


@bp.route("/calls/<int:call_id>/dashboard")
@login_required
def call(call_id: int):
    """The officials' overview of a call (charts with tables); sealed: only how many arrived."""
    require(current_user, "official.work")
    c = get_call_for(current_user, call_id)
    return render_template("calls/dashboard.html", call=c, d=call_dashboard(c))
