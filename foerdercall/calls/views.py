from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.application import application_form
from forms.calls import (
    BulkSignOffForm,
    BulkStepForm,
    CallForm,
    ConfirmForm,
    CopyCallForm,
    CorrectionForm,
    TieForm,
)
from forms.formbuilder import KINDS_WITH, FormBuilderForm, role_label
from forms.jobs import ExportJobForm
from workflows import TieState
from workflows.proposal import STATE_LABELS

from ..appform.definition import parse_definition, with_fields_of_action
from ..appform.places import with_places
from ..errors import ActionRefused
from ..i18n import current_lang
from ..jobs.files import attachment_headers
from ..jobs.operations import (
    EXPORT_MIMETYPES,
    EXPORTS,
    export_file,
    export_is_large,
    start_call_record,
    start_export,
)
from ..pages import done_message, undo_refused
from ..policy import may, refusal
from ..policy.actors import is_official
from ..policy.checklist import checklist
from ..policy.loaders import get_call_for, require, require_neutrality
from ..policy.reading import may_read_call_record
from ..proposals.models import Proposal
from ..proposals.queries import draft_of, proposals_of, received_count, received_proposals
from ..ranking.queries import latest_standstills, proposals_by_id, sign_offs_by_office, tie_breaks_of
from ..ranking.service import compute_ranking
from ..reviews.operations import scores_of
from ..reviews.queries import conflicted_proposals
from ..sheets import file_response
from ..text import parse_id
from ..workflow.engine import fire
from .models import Call
from .operations import (
    change_form,
    confirm_opening,
    copy_call,
    correct_call,
    create_call,
    mark_privacy_checked,
    request_opening,
    steps_chosen,
    update_call,
)
from .queries import code_taken, listed_calls, versions_of

bp = Blueprint("calls", __name__)


@bp.route("/calls")
def index():
    calls = listed_calls(with_drafts=may(current_user, "official.work"))  # drafts: their officials only
    # an applicant begins an offer (or goes on with their draft) right from the list, open calls first
    applying = may(current_user, "applicant.work")
    if applying:
        calls = sorted(calls, key=lambda c: not may(current_user, "call.apply", c))
    drafts = {c.id: draft_of(c, current_user) for c in calls} if applying else {}
    return render_template("calls/index.html", calls=calls, drafts=drafts, form=ConfirmForm())


@bp.route("/calls/<int:call_id>")
def detail(call_id: int):
    call = get_call_for(current_user, call_id)
    own = proposals_of(current_user, call) if current_user.is_authenticated else []
    draft = draft_of(call, current_user) if current_user.is_authenticated else None
    record_as_job = may(current_user, "official.work") and export_is_large(call)  # the Vergabevermerk: a job
    return render_template(
        "calls/detail.html",
        call=call,
        versions=versions_of(call),
        own=own,
        draft=draft,
        form=ConfirmForm(),
        checklist=checklist(call) if may(current_user, "call.edit", call) else [],
        copy_form=CopyCallForm(confirm="y"),
        record_as_job=record_as_job,
        export_form=ExportJobForm(),
    )


@bp.route("/calls/new", methods=["GET", "POST"])
@login_required
def new():
    require(current_user, "official.work")
    form = CallForm()
    if form.is_submitted() and form.apply_row_action():  # a row button: the form again, with the change
        return render_template("calls/form.html", form=form, call=None)
    if request.method == "GET":
        form.standstill_threshold.data = 50_000_00
    if form.validate_on_submit():
        if code_taken((form.code.data or "").strip()):
            form.code.errors.append(_("Dieses Kürzel ist vergeben."))  # type: ignore[attr-defined]  # a list once validated
        else:
            call = create_call(current_user, criteria=form.parsed_criteria, **form.call_fields())
            flash(_("Der Aufruf ist als Entwurf angelegt."), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/form.html", form=form, call=None), 200 if not form.errors else 422


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@login_required
def edit(call_id: int):
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    if (why := refusal(current_user, "call.edit", call)) is not None:  # published: only corrected
        flash(why, "error")
        return redirect(url_for("calls.correct", call_id=call.id))
    form = CallForm(obj=call)
    if form.is_submitted() and form.apply_row_action():  # a row button: the form again, with the change
        return render_template("calls/form.html", form=form, call=call)
    if request.method == "GET":
        form.budget.data, form.max_amount.data = call.budget_cents, call.max_amount_cents
        form.estimated_value.data = call.estimated_value_cents
        form.standstill_threshold.data = call.standstill_threshold_cents
        form.justify_ends_only.data = not call.justify_every_score
    if form.validate_on_submit():
        fields = form.call_fields()
        if code_taken(fields["code"], but=call):
            form.code.errors.append(_("Dieses Kürzel ist vergeben."))  # type: ignore[attr-defined]  # a list once validated
        else:
            update_call(call, current_user, criteria=form.parsed_criteria, **fields)
            flash(_("Gespeichert."), "success")
            return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/form.html", form=form, call=call), 200 if not form.errors else 422


@bp.route("/calls/<int:call_id>/form", methods=["GET", "POST"])
@login_required
def questions(call_id: int):
    """The question builder: the call's application form as rows, with a preview as applicants will see it."""
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    if (why := refusal(current_user, "call.edit_form", call)) is not None:
        flash(why, "error")
        return redirect(url_for("calls.detail", call_id=call.id))
    form = FormBuilderForm(stored=call.stored_form, lang=current_lang())
    if form.is_submitted() and form.apply_row_action():  # a row button: the rows again, with the change
        return _questions_page(call, form)
    if not form.validate_on_submit():
        return _questions_page(call, form, 200 if not form.errors else 422)
    if form.action.data == "preview":  # the preview of what was typed; nothing saved
        return _questions_page(call, form)
    version = call.version
    try:
        change_form(call, current_user, form.definition_data, form.reason.data or "")
    except ActionRefused as exc:  # the rows are shown again as typed
        undo_refused(exc)
        return _questions_page(call, form, 422)
    if call.version != version:
        flash(
            _(
                "Die Berichtigung ist als Version %(v)s veröffentlicht; alle Beteiligten werden informiert.",
                v=call.version,
            ),
            "success",
        )
    else:
        flash(_("Das Antragsformular ist gespeichert."), "success")
    return redirect(url_for("calls.questions", call_id=call.id))


@bp.route("/calls/<int:call_id>/form/preview", methods=["POST"])
@login_required
def questions_preview(call_id: int):
    """The preview alone, for the builder's script: the form as typed so far, or what is still wrong."""
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    require(current_user, "call.edit_form", call)
    form = FormBuilderForm(stored=call.stored_form, lang=current_lang())
    form.validate_on_submit()
    return render_template("calls/questions_preview.html", call=call, preview=_preview(call, form), form=form)


def _preview(call: Call, form: FormBuilderForm):
    """The applicant's form for the rows as typed (when they make a form), else the stored one; no answers."""
    definition = parse_definition(form.definition_data) if form.definition_data else call.stored_form
    definition = with_places(with_fields_of_action(definition, call.fields_of_action or []))
    return application_form(definition, current_lang())(formdata=None, meta={"csrf": False})


def _questions_page(call: Call, form: FormBuilderForm, status: int = 200):
    return (
        render_template(
            "calls/questions.html",
            call=call,
            form=form,
            preview=_preview(call, form),
            correcting=not may(current_user, "call.edit", call),  # published: a correction
            role_label=role_label,
            kinds_with=KINDS_WITH,
        ),
        status,
    )


@bp.route("/calls/<int:call_id>/privacy-checked", methods=["POST"])
@login_required
def privacy_checked(call_id: int):
    """Marks the draft's privacy notice as checked by the data-protection officer."""
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    mark_privacy_checked(call, current_user)
    flash(_("Die Datenschutzhinweise sind als geprüft markiert."), "success")
    return redirect(url_for("calls.detail", call_id=call.id, _anchor="checklist"))


@bp.route("/calls/<int:call_id>/copy", methods=["POST"])
@login_required
def copy(call_id: int):
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    form = CopyCallForm()
    if not form.validate_on_submit():  # without its confirmation: nothing is copied
        flash(_("Bitte kopieren Sie den Aufruf mit der Schaltfläche auf seiner Seite."), "error")
        return redirect(url_for("calls.detail", call_id=call.id))
    new = copy_call(call, current_user)
    flash(
        _(
            "Der Aufruf ist als Entwurf %(code)s kopiert. Bitte prüfen Sie vor allem: Titel, Kürzel, die Fristen "
            "(um ein Jahr verschoben), Budget, die Datenschutzhinweise (erneut prüfen lassen) und die "
            "Mail-Vorlagen (als Entwürfe übernommen: bitte Vorschau ansehen und aktivieren).",
            code=new.code,
        ),
        "success",
    )
    return redirect(url_for("calls.edit", call_id=new.id))


@bp.route("/calls/<int:call_id>/correct", methods=["GET", "POST"])
@login_required
def correct(call_id: int):
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    form = CorrectionForm(obj=call)
    if form.validate_on_submit():
        try:
            correct_call(
                call,
                current_user,
                form.reason.data or "",
                description=form.description.data or "",
                submission_deadline=form.submission_deadline.data,
            )
        except ActionRefused as exc:  # the form is shown again with what was typed
            undo_refused(exc)
            return render_template("calls/correct.html", form=form, call=call), 422
        flash(
            _(
                "Die Berichtigung ist als Version %(v)s veröffentlicht; alle Beteiligten werden informiert.",
                v=call.version,
            ),
            "success",
        )
        return redirect(url_for("calls.detail", call_id=call.id))
    return render_template("calls/correct.html", form=form, call=call), 200 if not form.errors else 422


@bp.route("/calls/<int:call_id>/fire/<trigger>", methods=["POST"])
@login_required
def fire_trigger(call_id: int, trigger: str):
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    fire(call, trigger, current_user, reason=form.reason.data or "", note=form.note.data or "")
    flash(done_message(call, trigger), "success")
    return redirect(url_for("calls.detail", call_id=call.id))


@bp.route("/calls/<int:call_id>/proposals")
@login_required
def proposals(call_id: int):
    """The officials' list: while sealed, only the count (nothing of the content)."""
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    require_neutrality(current_user, call)
    state = request.args.get("state")
    rows: Sequence[Proposal] = []
    if not call.is_sealed:
        rows = received_proposals(call, state if state in STATE_LABELS else None)
    # a conflicted official sees the file number only (and the applicant, their own proposal)
    hidden = conflicted_proposals(current_user) | {p.id for p in rows if p.applicant_id == current_user.id}
    return render_template(
        "calls/proposals.html",
        call=call,
        proposals=rows,
        count=received_count(call),
        scores=scores_of(rows),
        hidden=hidden,
        # the formal check passed for several at once: those the official may declare eligible
        checkable={p.id for p in rows if p.id not in hidden and may(current_user, "declare_eligible", p)},
        form=ConfirmForm(),
    )


@bp.route("/calls/<int:call_id>/opening", methods=["GET", "POST"])
@login_required
def opening(call_id: int):
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            if call.opening is None:
                request_opening(call, current_user)
                flash(_("Öffnung angestoßen. Eine zweite Person muss sie bestätigen."), "success")
            else:
                confirm_opening(call, current_user)
                flash(_("Die Angebote sind geöffnet; die Niederschrift ist geschrieben."), "success")
        except ActionRefused as exc:
            flash(exc.message, "error")
        return redirect(url_for("calls.opening", call_id=call.id))
    return render_template("calls/opening.html", call=call, form=form)


# --- ranking, exports, the decision view ----------------------------------------------------------------

RANKING_PAGE_SIZE = 200
_LOCALES: dict[str, Locale] = {}


def money_formatter():
    """The money filter's output (i18n.format_money: 1.234,56 €) for many amounts on one page: the same
    Babel call with the locale parsed once (parsing it per amount costs most of the formatting)."""
    lang = current_lang()
    code = "de_DE" if lang == "de" else "en_GB"
    locale = _LOCALES.get(code) or _LOCALES.setdefault(code, Locale.parse(code))
    done: dict[int, str] = {}

    def fmt(cents: int | None) -> str:
        if cents is None:
            return "–"
        text = done.get(cents)
        if text is None:
            text = done[cents] = format_currency(Decimal(cents) / 100, "EUR", locale=locale)
        return text

    return fmt


def _official_call(call_id: int) -> Call:
    require(current_user, "official.work")
    call = get_call_for(current_user, call_id)
    if call.is_sealed:
        abort(404)  # nothing of the content before the opening
    require_neutrality(current_user, call)
    return call


@bp.route("/calls/<int:call_id>/ranking")
@login_required
def ranking(call_id: int):
    """The ranking with the budget line; all proposals are ranked, the page shows them in pages."""
    call = _official_call(call_id)
    result = compute_ranking(call, viewer=current_user)
    pages = max(1, -(-len(result.rows) // RANKING_PAGE_SIZE))
    page = min(parse_id(request.args.get("page")) or 1, pages)  # a number, else the first page
    rows = result.rows[(page - 1) * RANKING_PAGE_SIZE : page * RANKING_PAGE_SIZE]
    return render_template(
        "calls/ranking.html",
        call=call,
        ranking=result,
        rows=rows,
        page=page,
        pages=pages,
        export_as_job=export_is_large(call),
        export_form=ExportJobForm(),
        fmt_money=money_formatter(),
        funded=sum(1 for r in result.rows if r.in_funding),
        moving_up=[r for r in result.rows if r.moves_up and r.proposal_id not in result.hidden],
        disagreements=sum(1 for r in result.rows if r.disagreement),
    )


@bp.route("/calls/<int:call_id>/export/<what>.<fmt>")
@login_required
def export(call_id: int, what: str, fmt: str):
    """The ranking (what=ranking) or every review's detail (what=scores) as CSV or XLSX, at once (the ranking
    page offers a job instead for calls of more than EXPORT_SYNC_LIMIT proposals; the bytes are the same)."""
    if what not in EXPORTS or fmt not in EXPORT_MIMETYPES:
        abort(404)
    call = _official_call(call_id)
    f, name, mimetype = export_file(call, current_user, what, fmt)
    return file_response(f, mimetype, attachment_headers(name))


@bp.route("/calls/<int:call_id>/export/<what>.<fmt>", methods=["POST"])
@login_required
def export_job(call_id: int, what: str, fmt: str):
    """The same export as a job with visible progress (for large calls)."""
    if what not in EXPORTS or fmt not in EXPORT_MIMETYPES:
        abort(404)
    call = _official_call(call_id)
    if not ExportJobForm().validate_on_submit():
        abort(400)
    job = start_export(call, current_user, what, fmt)
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.route("/calls/<int:call_id>/vergabevermerk.pdf", methods=["POST"])
@login_required
def record_job(call_id: int):
    """The call's Vergabevermerk as a job with visible progress (for large calls; small ones are downloaded at
    once from documents.call_record)."""
    call = get_call_for(current_user, call_id)
    require_neutrality(current_user, call)
    if not may_read_call_record(current_user, call):
        abort(404 if is_official(current_user) else 403)
    if not ExportJobForm().validate_on_submit():
        abort(400)
    job = start_call_record(call, current_user)
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.route("/calls/<int:call_id>/decision", methods=["GET", "POST"])
@login_required
def decision(call_id: int):
    """Sign off several proposals at once for one's office (each exactly as a single sign-off)."""
    call = _official_call(call_id)
    form = BulkSignOffForm()
    if request.method == "POST":
        return _sign_off_chosen(call, form)
    result = compute_ranking(call, viewer=current_user)
    rows = result.in_decision()
    # the rulebook is asked about each row the viewer sees (sign-off, standstill, award)
    shown = proposals_by_id(r.proposal_id for r in rows if result.visible(r))
    pending = result.awaiting_award()
    breaks = tie_breaks_of(call)
    return render_template(
        "calls/decision.html",
        call=call,
        ranking=result,
        rows=rows,
        proposals=shown,
        signed=sign_offs_by_office(call),
        pending=pending,
        # the award for several at once: those it is possible for now (a standstill, a tie or the budget say no)
        awardable_ids={r.proposal_id for r in pending if may(current_user, "award", shown[r.proposal_id])},
        fmt_money=money_formatter(),
        standstills=latest_standstills(call),
        ties=result.open_ties(),
        tie_breaks=breaks,
        # the groups an order is proposed for: no second proposal is offered while it waits
        tie_pending={tuple(sorted(tb.members)) for tb in breaks if tb.state == TieState.PROPOSED},
        tie_numbers={
            q.id: q.file_number for q in proposals_by_id({i for tb in breaks for i in tb.members}).values()
        },
        tie_form=TieForm(),
        form=form,
        confirm=ConfirmForm(),
    )


def _sign_off_chosen(call: Call, form: BulkSignOffForm):
    if not form.validate_on_submit():
        abort(400)
    back = url_for("calls.decision", call_id=call.id)
    return _bulk(call, form.proposal_ids(), "sign_off", back, form.decision.data, form.reason.data or "")


# a bulk step other than the sign-off: where its page is, and what its flash says of those done
BULK_PAGES = {"declare_eligible": "calls.proposals", "award": "calls.decision"}


@bp.route("/calls/<int:call_id>/bulk/<step>", methods=["POST"])
@login_required
def bulk_step(call_id: int, step: str):
    """The formal check passed, or the award made, for several proposals at once (each as on its own page)."""
    if step not in BULK_PAGES:
        abort(404)
    call = _official_call(call_id)
    form = BulkStepForm()
    if not form.validate_on_submit():
        abort(400)
    return _bulk(call, form.proposal_ids(), step, url_for(BULK_PAGES[step], call_id=call.id))


def _bulk(call: Call, ids: list[int], step: str, back: str, decision: str = "", reason: str = ""):
    if not ids:
        flash(_("Bitte wählen Sie mindestens ein Angebot aus."), "error")
        return redirect(back)
    outcome = steps_chosen(call, current_user, ids, step, decision, reason)
    if outcome.job is not None:  # many: a job, each proposal in its own transaction, with progress
        return redirect(url_for("jobs.show", job_id=outcome.job.id))
    if done := [number for number, message in outcome.results if message is None]:
        flash(bulk_done(step, ", ".join(done)), "success")
    for number, message in outcome.results:
        if message is None:
            continue
        if step == "sign_off":
            flash(_("%(number)s nicht gezeichnet: %(message)s", number=number, message=message), "error")
        else:
            flash(_("%(number)s nicht erledigt: %(message)s", number=number, message=message), "error")
    return redirect(back)


def bulk_done(step: str, numbers: str) -> str:
    if step == "award":
        return _("Zuschlag erteilt: %(list)s.", list=numbers)
    if step == "declare_eligible":
        return _("Als formal zulässig erklärt: %(list)s.", list=numbers)
    return _("Gezeichnet: %(list)s.", list=numbers)
