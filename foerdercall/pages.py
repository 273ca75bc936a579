"""The one pattern of a view that handles a post: load through the rulebook, validate the form, call one
operation, redirect. These are its shared steps for what goes wrong: a form's errors shown as messages on the
page the browser returns to, and an operation's refusal undone and shown with the form kept."""

from __future__ import annotations

from flask import flash, g

from .extensions import db


def flash_errors(form) -> None:
    """Each error of a posted form as a message on the page the redirect leads back to."""
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")


def undo_refused(exc) -> None:
    """An operation refused (``ActionRefused``) while the view shows the form again with what was typed:
    nothing the request wrote is kept, and the reason is shown."""
    db.session.rollback()
    g.rollback = True
    flash(exc.message, "error")
