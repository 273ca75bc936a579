"""Every form and every state-changing request is protected against CSRF in the real configuration."""

import pathlib
import re

from conftest import PASSWORD, make_app

from foerdercall.accounts.operations import create_user
from foerdercall.extensions import db

TEMPLATES = pathlib.Path(__file__).resolve().parents[1] / "templates"


def test_every_post_form_in_the_templates_carries_the_token():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", text, flags=re.S | re.I):
            assert "csrf_token" in form or "hidden_tag()" in form, (
                f"{path.name}: a POST form without CSRF token"
            )


def test_a_post_without_token_is_refused_with_a_message_and_changes_nothing(request, tmp_path):
    app = make_app("sqlite", request, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        create_user("ka@example.org", "Karla", PASSWORD, roles=("official",), office="KA")
        db.session.commit()
        client = app.test_client()
        resp = client.post("/login", data={"email": "ka@example.org", "password": PASSWORD})
        assert resp.status_code == 400
        assert "Das Formular war abgelaufen" in resp.get_data(as_text=True)
        # with the token from the page, the same login works
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        resp = client.post(
            "/login", data={"email": "ka@example.org", "password": PASSWORD, "csrf_token": token}
        )
        assert resp.status_code == 302
        # a state change without the token is refused even when logged in
        from foerdercall.models import Call

        resp = client.post("/calls/new", data={"code": "X", "title": "Ohne Token"})
        assert resp.status_code == 400
        assert db.session.query(Call).count() == 0
        db.session.remove()
