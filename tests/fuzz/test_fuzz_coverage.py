"""Every POST route of the app is fuzzed somewhere (tests/test_fuzz_forms.py, tests/fuzz/, tests/mailtemplates/):
a new route fails here until it has its fuzz case and is listed."""

from __future__ import annotations

import pytest

FUZZED = {
    # tests/test_fuzz_forms.py
    "proposals.edit",
    "calls.new",
    "calls.correct",
    "accounts.register",
    "accounts.login",
    "proposals.extend",
    "awards.payment",
    "awards.milestone_add",
    "awards.milestone_report",
    "awards.report",
    # tests/fuzz/test_fuzz_accounts.py
    "accounts.forgot_password",
    "accounts.reset_password_link",
    "accounts.two_factor",
    "accounts.disable_two_factor_view",
    "accounts.login_two_factor",
    "accounts.resend_verification",
    "privacy.delete",
    "accounts.language",
    "accounts.notifications",
    "accounts.salutation",
    "accounts.logout",
    "accounts.user_roles",
    "accounts.reset_two_factor_view",
    "accounts.request_unlock",
    "accounts.unlock_link",
    "accounts.end_other_sessions_view",
    "accounts.end_sessions_view",
    "offices.new",
    "offices.edit",
    # tests/fuzz/test_fuzz_calls.py
    "calls.edit",
    "calls.questions",
    "calls.questions_preview",
    "calls.fire_trigger",
    "proposals.apply",
    "calls.opening",
    "calls.export_job",
    "calls.record_job",
    "calls.privacy_checked",
    "calls.copy",
    # tests/fuzz/test_fuzz_proposals.py
    "proposals.delete_attachment",
    "proposals.fire_trigger",
    "proposals.answer",
    "proposals.reasons",
    "proposals.answer_reasons_view",
    # tests/fuzz/test_fuzz_reviews.py
    "reviews.neutrality",
    "reviews.score",
    "reviews.assign",
    "reviews.replace",
    "reviews.auto",
    "reviews.conflict",
    "reviews.official_conflict",
    "reviews.decline",
    "awards.sign",
    "calls.decision",
    "awards.objection",
    "awards.award",
    "ranking.decide",
    "calls.bulk_step",
    "privacy.hold",
    "awards.drawdown",
    "awards.drawdown_step",
    "awards.claim",
    "awards.repaid",
    "privacy.lift",
    "ranking.agree",
    "ranking.refuse",
    # tests/fuzz/test_fuzz_implementation.py
    "awards.milestone_accept",
    "awards.report_review",
    "mail.release_mail",
    "mail.retry_mail",
    "mail.retry_mails",
    "parking.apply",
    "parking.discard_view",
    "outcomes.confirm",
    "outcomes.correct",
    "outcomes.year_report_text",
    "outcomes.call_report_text",
    # tests/fuzz/test_fuzz_api.py
    "api.add_payment",
    "api.add_indicator_values",
    "api_admin.index",
    "api_admin.revoke",
    # tests/mailtemplates/test_mail_template_fuzz.py
    "mailtemplates.new",
    "mailtemplates.edit",
    "mailtemplates.activate",
    "mailtemplates.deactivate",
    "mailtemplates.delete",
}


def test_every_post_route_has_a_fuzz_case():
    from foerdercall import create_app

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "t", "PUBLIC_URL": "http://foerdercall.test"}
    )
    posted = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    assert posted - FUZZED == set(), "POST routes without a fuzz case (add one, then list it here)"
    assert FUZZED - posted == set(), "listed here but no longer a POST route"


def _routes(app):
    """Two routes of the test's own: one writes a row and then says no, one says no cleanly."""
    from flask import abort, flash, redirect

    from foerdercall.accounts.operations import create_user

    def half_written(how: str):
        create_user(f"{how}@x.test", "Halb geschrieben", "correct horse battery")
        if how == "flash":
            flash("Nein.", "error")
            return redirect("/")
        abort(400)

    def refused_cleanly():
        flash("Nein.", "error")
        return redirect("/")

    app.add_url_rule("/test/half-written/<how>", "half_written", half_written, methods=["POST"])
    app.add_url_rule("/test/refused", "refused_cleanly", refused_cleanly, methods=["POST"])
    return app.test_client()


def test_the_half_written_row_check_sees_a_refusal_that_wrote(app, world, backend):
    """The check the fuzz tests rely on, on both databases: a post that says no (an error message) but left a
    row behind fails it; one that wrote nothing passes."""
    from test_fuzz_forms import post

    client = _routes(app)
    with pytest.raises(AssertionError):
        post(client, "/test/half-written/flash", {})
    post(client, "/test/refused", {})


def test_an_abort_400_after_a_write_leaves_no_row(app, world, backend):
    """No view writes before its abort(400) today (the fuzzing found none); this keeps it so if one ever does."""
    from test_fuzz_forms import post

    post(_routes(app), "/test/half-written/abort", {})


def test_every_query_argument_a_view_reads_is_fuzzed():
    """tests/fuzz/test_fuzz_query_args.py fuzzes the query arguments listed in its QUERY_ARGS (and records, while
    it runs, which ones each view reads). Here the sources: every argument read anywhere is listed there, and
    request.args is read by name only (a view that iterates it, or reads request.values, fails here)."""
    import re
    from pathlib import Path

    from test_fuzz_query_args import QUERY_ARGS

    root = Path(__file__).resolve().parents[2] / "foerdercall"
    by_name = re.compile(
        r"""request\.args\.(?:get|getlist)\(\s*["']([^"']+)["']|request\.args\[\s*["']([^"']+)["']"""
    )
    listed = set().union(*QUERY_ARGS.values())
    read, other = set(), []
    for path in sorted(root.rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            for m in re.finditer(r"request\.(args|values)\b", line):
                named = by_name.match(line, m.start())
                if named:
                    read.add(named.group(1) or named.group(2))
                else:
                    other.append(f"{path.relative_to(root.parent)}:{n}: {line.strip()}")
    assert other == [], 'read query arguments by name: request.args.get("name")'
    assert read - listed == set(), "query arguments read but not fuzzed: add them to QUERY_ARGS"
