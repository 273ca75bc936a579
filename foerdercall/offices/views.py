"""The admins' pages for the offices: the list, a new office, an office's data."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.offices import OfficeForm

from ..accounts.queries import officials
from ..errors import ActionRefused
from ..extensions import db
from ..pages import undo_refused
from ..policy.loaders import require
from .models import Office
from .operations import save_office
from .queries import all_offices

bp = Blueprint("offices", __name__)


@bp.route("/admin/offices")
@login_required
def index():
    require(current_user, "office.manage")
    return render_template("offices/index.html", offices=[(o, officials(o.key)) for o in all_offices()])


@bp.route("/admin/offices/new", methods=["GET", "POST"])
@login_required
def new():
    require(current_user, "office.manage")
    form, refused = OfficeForm(), False
    if form.validate_on_submit():
        try:
            office = save_office(
                current_user, None, key=(form.key.data or "").strip(), **form.office_fields()
            )
        except ActionRefused as exc:
            undo_refused(exc)
            refused = True
        else:
            flash(_("Das Amt „%(name)s“ ist angelegt.", name=office.short_name), "success")
            return redirect(url_for("offices.index"))
    return render_template(
        "offices/form.html", form=form, office=None
    ), 422 if refused or form.errors else 200


@bp.route("/admin/offices/<int:office_id>", methods=["GET", "POST"])
@login_required
def edit(office_id: int):
    require(current_user, "office.manage")
    office = db.get_or_404(Office, office_id)
    form, refused = OfficeForm(office=office), False
    del form.key  # fixed once created
    if form.validate_on_submit():
        try:
            save_office(current_user, office, **form.office_fields())
        except ActionRefused as exc:
            undo_refused(exc)
            refused = True
        else:
            flash(_("Gespeichert."), "success")
            return redirect(url_for("offices.index"))
    return (
        render_template("offices/form.html", form=form, office=office, staff=officials(office.key)),
        422 if refused or form.errors else 200,
    )
