"""The mail template forms fuzzed (tests/test_fuzz_forms.py), on both databases: never a 500, a refused form
changes no row."""

from __future__ import annotations

from conftest import login
from hypothesis import strategies as st
from test_fuzz_forms import fields, fuzz, post, show

from foerdercall.extensions import db
from foerdercall.mailtemplates.models import MailTemplate
from foerdercall.mailtemplates.operations import create_template

FORM_FIELDS = ("kind", "lang", "state", "field_of_action", "subject", "body")


def test_the_new_template_form(app, world, backend):
    client = app.test_client()
    login(client, world.ka.email)
    fuzz(
        backend,
        fields(*FORM_FIELDS),
        lambda data: post(client, f"/calls/{world.call.id}/mail-templates/new", data),
    )


def test_the_edit_activate_deactivate_and_delete_forms(app, world, backend):
    client = app.test_client()
    login(client, world.ka.email)

    def template() -> MailTemplate:
        t = db.session.scalar(db.select(MailTemplate).where(MailTemplate.call_id == world.call.id))
        if t is None:  # the first example, or the one after a confirmed deletion
            t = create_template(
                world.call,
                world.ka,
                kind="award",
                lang="de",
                subject="Zuschlag {Aktenzeichen}",
                body="{Betrag} bis {Frist}",
            )
            db.session.commit()
        return t

    def body(data):
        base = f"/calls/{world.call.id}/mail-templates/{template().id}"
        post(client, base, data)
        post(client, base + "/activate", data)
        show(client, base + "/preview", f"/calls/{world.call.id}/mail-templates")
        post(client, base + "/deactivate", data)
        post(client, base + "/delete", data)

    fuzz(
        backend,
        fields(
            "subject",
            "body",
            "version",
            "confirm",
            version=st.sampled_from(["1", "2", "0", "-1"]),
            confirm=st.sampled_from(["y", ""]),
        ),
        body,
    )
