from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.mailtemplates import (
    LANG_LABELS,
    ActivateForm,
    DeleteTemplateForm,
    MailTemplateForm,
    MailTemplateTextForm,
)
from workflows.proposal import STATE_LABELS

from ..errors import ActionRefused
from ..pages import flash_errors
from ..policy.loaders import get_mail_template_call_for, get_mail_template_for
from .models import MailTemplate
from .operations import (
    KIND_PLACEHOLDERS,
    KINDS,
    PLACEHOLDERS,
    activate_template,
    create_template,
    deactivate_template,
    delete_template,
    preview,
    templates_of,
    update_template,
)

bp = Blueprint("mailtemplates", __name__)


def _labels() -> dict:
    return {
        "kinds": KINDS,
        "langs": LANG_LABELS,
        "states": STATE_LABELS,
        "placeholders": PLACEHOLDERS,
        "kind_placeholders": KIND_PLACEHOLDERS,
    }


@bp.route("/calls/<int:call_id>/mail-templates")
@login_required
def index(call_id: int):
    call = get_mail_template_call_for(current_user, call_id)
    by_kind: dict[str, list[MailTemplate]] = {kind: [] for kind in KINDS}
    for t in templates_of(call):
        by_kind.setdefault(t.kind, []).append(t)
    return render_template("mailtemplates/index.html", call=call, by_kind=by_kind, **_labels())


@bp.route("/calls/<int:call_id>/mail-templates/new", methods=["GET", "POST"])
@login_required
def new(call_id: int):
    call = get_mail_template_call_for(current_user, call_id)
    form = MailTemplateForm(call=call)
    if form.validate_on_submit():
        try:
            t = create_template(
                call,
                current_user,
                kind=form.kind.data,
                lang=form.lang.data,
                state=form.state.data,
                field_of_action=form.field_of_action.data,
                subject=form.subject.data or "",
                body=form.body.data or "",
            )
        except ActionRefused as exc:
            form.kind.errors = [*form.kind.errors, exc.message]
        else:
            flash(
                _(
                    "Die Vorlage ist als Entwurf gespeichert. Sie wird erst verwendet, wenn Sie sie nach der "
                    "Vorschau aktivieren."
                ),
                "success",
            )
            return redirect(url_for("mailtemplates.show_preview", call_id=call.id, template_id=t.id))
    return (
        render_template("mailtemplates/form.html", call=call, form=form, template=None, **_labels()),
        422 if form.errors else 200,
    )


@bp.route("/calls/<int:call_id>/mail-templates/<int:template_id>", methods=["GET", "POST"])
@login_required
def edit(call_id: int, template_id: int):
    t = get_mail_template_for(current_user, call_id, template_id)
    form = MailTemplateTextForm(obj=t, kind=t.kind)
    if form.validate_on_submit():
        try:
            update_template(
                t,
                current_user,
                subject=form.subject.data or "",
                body=form.body.data or "",
                version=form.version_number(),
            )
        except ActionRefused as exc:
            form.body.errors = [*form.body.errors, exc.message]
            form.version.data = str(t.version)  # saving again replaces the version now stored, knowingly
        else:
            if t.has_draft:
                flash(
                    _(
                        "Gespeichert. Die neue Fassung wird erst verwendet, wenn Sie sie nach der Vorschau "
                        "aktivieren."
                    ),
                    "success",
                )
            return redirect(url_for("mailtemplates.show_preview", call_id=t.call_id, template_id=t.id))
    return (
        render_template("mailtemplates/form.html", call=t.call, form=form, template=t, **_labels()),
        422 if form.errors else 200,
    )


@bp.route("/calls/<int:call_id>/mail-templates/<int:template_id>/preview")
@login_required
def show_preview(call_id: int, template_id: int):
    t = get_mail_template_for(current_user, call_id, template_id)
    real, mails = preview(t, current_user)
    form = ActivateForm(version=str(t.version))
    return render_template(
        "mailtemplates/preview.html",
        call=t.call,
        template=t,
        real=real,
        mails=mails,
        form=form,
        delete_form=DeleteTemplateForm(),
        **_labels(),
    )


@bp.route("/calls/<int:call_id>/mail-templates/<int:template_id>/activate", methods=["POST"])
@login_required
def activate(call_id: int, template_id: int):
    t = get_mail_template_for(current_user, call_id, template_id)
    form = ActivateForm()
    version = form.version_number() if form.validate_on_submit() else None
    try:
        activate_template(t, current_user, version)
        flash(
            _("Die Vorlage ist aktiv: Fassung %(v)s wird ab jetzt verschickt.", v=t.active_version), "success"
        )
    except ActionRefused as exc:
        flash(exc.message, "error")
    return redirect(url_for("mailtemplates.show_preview", call_id=t.call_id, template_id=t.id))


@bp.route("/calls/<int:call_id>/mail-templates/<int:template_id>/deactivate", methods=["POST"])
@login_required
def deactivate(call_id: int, template_id: int):
    t = get_mail_template_for(current_user, call_id, template_id)
    back = redirect(url_for("mailtemplates.index", call_id=t.call_id))
    if not ActivateForm().validate_on_submit():  # only its token: a refused one is said in general
        flash(_("Die Anfrage war ungültig. Bitte versuchen Sie es erneut."), "error")
        return back
    try:
        deactivate_template(t, current_user)
    except ActionRefused as exc:
        flash(exc.message, "error")
    else:
        flash(_("Die Vorlage ist nicht mehr aktiv."), "success")
    return back


@bp.route("/calls/<int:call_id>/mail-templates/<int:template_id>/delete", methods=["POST"])
@login_required
def delete(call_id: int, template_id: int):
    t = get_mail_template_for(current_user, call_id, template_id)
    form = DeleteTemplateForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return redirect(url_for("mailtemplates.show_preview", call_id=t.call_id, template_id=t.id))
    delete_template(t, current_user)
    flash(_("Die Vorlage ist gelöscht."), "success")
    return redirect(url_for("mailtemplates.index", call_id=call_id))
