"""The account forms fuzzed (tests/test_fuzz_forms.py): password reset, two-factor set-up, login and switch-off,
account deletion, the language switch, the admin's roles form. Never a 500; a refused form changes no row."""

from __future__ import annotations

from urllib.parse import quote

import pyotp
from conftest import PASSWORD, login
from hypothesis import strategies as st
from sqlalchemy import delete
from test_fuzz_forms import HOSTILE, VALUE, fields, fuzz, post, show

from foerdercall.accounts import operations as account_ops
from foerdercall.accounts.models import LoginFailure
from foerdercall.extensions import db

CODES = st.one_of(
    HOSTILE,
    st.text(max_size=12),
    st.integers(0, 999_999).map(lambda n: f"{n:06d}"),
    st.sampled_from(["١٢٣٤٥٦", "²²²²²²", "12345６", "abcde-fghij", "ABCDE FGHIJ", "000000"]),
)


def _reset_token(user) -> str:
    return account_ops._serializer("password-reset").dumps(
        {"u": user.id, "h": account_ops._password_fingerprint(user)}
    )


def test_the_password_forms(app, world, backend):
    client = app.test_client()
    token = _reset_token(world.applicant2)

    def body(data):
        post(client, "/password/forgot", data)
        # the valid link (a weak password is refused; a good one changes it: the link dies, that is fine)
        post(client, f"/password/reset/{token}", data)
        post(client, f"/password/reset/{quote(str(data.get('email', 'x')), safe='')}", data)

    fuzz(backend, fields("email", "password", "password2"), body)


def test_the_two_factor_forms(app, world, clock, backend):
    """Set-up (a code for the secret shown), switch-off (password) as an official; the second step of the
    login (a code or a recovery code) as an official who has it on."""
    # afw has two-factor on; ka sets it up
    secret = account_ops.new_totp_secret()
    account_ops.enable_two_factor(world.afw, secret, pyotp.TOTP(secret).at(clock()))
    db.session.commit()
    ka = app.test_client()
    login(ka, world.ka.email)

    def body(data):
        post(ka, "/account/two-factor", {"code": data["code"]} if "code" in data else {})
        post(ka, "/account/two-factor/disable", {k: v for k, v in data.items() if k == "password"})
        db.session.execute(delete(LoginFailure))  # the throttle would end the second step after five tries
        db.session.commit()
        afw = app.test_client()
        resp = afw.post("/login", data={"email": world.afw.email, "password": PASSWORD})
        assert resp.status_code == 302 and "/login/two-factor" in resp.headers["Location"]
        # a wrong code is counted on purpose (throttling): only "never a 500" holds there
        post(
            afw,
            "/login/two-factor",
            {"code": data["code"]} if "code" in data else {},
            refused_changes_nothing=False,
        )

    # digits str.isdigit() takes but hmac.compare_digest cannot compare (a 500 before forms/accounts.py
    # read them as a message); full-width digits are read as 0-9
    fuzz(
        backend,
        fields("password", code=CODES),
        body,
        explicit=({"code": "00000٠"}, {"code": "١٢٣٤٥٦"}, {"code": "１２３４５６"}, {"code": "abcde-fghi٣"}),
    )


def test_the_account_deletion_and_verification_forms(app, world, backend):
    client = app.test_client()
    login(client, world.applicant.email)

    def body(data):
        post(client, "/account/verify", data)
        post(client, "/account/delete", data)

    fuzz(backend, fields("confirm", "password", confirm=st.sampled_from(["y", "1", "on"])), body)


def test_the_language_switch_and_logout(app, world, backend):
    client = app.test_client()
    login(client, world.applicant.email)

    def body(data):
        post(client, "/language", data)
        post(client, "/logout", data)
        login(client, world.applicant.email)

    fuzz(backend, fields("next", lang=st.sampled_from(["de", "en"])), body)


def test_the_notification_choice(app, world, backend):
    client = app.test_client()
    login(client, world.ka.email)

    def body(data):
        post(client, "/account/notifications", data)
        post(client, "/account/salutation", data)

    fuzz(
        backend,
        fields(
            "notify_mode",
            "salutation",
            notify_mode=st.sampled_from(["immediate", "daily"]),
            salutation=st.sampled_from(["", "frau", "herr"]),
        ),
        body,
    )


def test_the_admin_roles_and_two_factor_reset_forms(app, world, clock, backend):
    from foerdercall.accounts.models import ROLES
    from foerdercall.offices.queries import office_keys

    secret = account_ops.new_totp_secret()
    account_ops.enable_two_factor(world.afw, secret, pyotp.TOTP(secret).at(clock()))
    db.session.commit()
    client = app.test_client()
    login(client, world.admin.email)
    role = st.sampled_from(sorted(ROLES))
    strategy = fields(
        "roles",
        "office",
        "head_of_office",
        roles=st.lists(st.one_of(role, VALUE), max_size=4),
        office=st.sampled_from(["", *office_keys()]),
        head_of_office=st.sampled_from(["y", ""]),
    )

    def body(data):
        post(client, f"/admin/users/{world.rev1.id}", data)
        post(client, f"/admin/users/{world.ka2.id}", data)
        # the admin's reset of a two-factor login (the route is newer than this test: only if the app has it)
        if "accounts.reset_two_factor_view" in app.view_functions:
            post(client, f"/admin/users/{world.afw.id}/two-factor/reset", data)
            post(client, f"/admin/users/{world.ka2.id}/two-factor/reset", data)
        show(client, "/admin/users", f"/admin/users/{world.rev1.id}")

    # a role posted twice was a 500 (two grants of one role) before forms/accounts.py read the list as a set;
    # FUZZ_RANDOM found it
    fuzz(
        backend,
        strategy,
        body,
        explicit=(
            {"roles": ["advisor", "advisor"]},
            {"roles": ["official", "official", "reviewer"], "office": "KA"},
        ),
    )


def test_the_locked_login_and_the_unlock_link(app, world, clock, backend):
    """A locked account: password with a code in one step, the request for an unlock link, the link's page and
    button with hostile tokens; a logged-in person ending their other sessions, an admin ending a person's."""
    secret = account_ops.new_totp_secret()
    account_ops.enable_two_factor(world.afw, secret, pyotp.TOTP(secret).at(clock()))
    db.session.commit()
    admin = app.test_client()
    login(admin, world.admin.email)
    person = app.test_client()
    login(person, world.rev1.email)

    def body(data):
        for _i in range(5):  # the account locked by someone else's guesses
            app.test_client().post(
                "/login",
                data={"email": world.afw.email, "password": "falsch geraten"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"},
            )
        client = app.test_client()
        # a wrong password or code is counted on purpose (throttling): only "never a 500" holds there
        post(
            client,
            "/login",
            {"email": world.afw.email, **{k: v for k, v in data.items() if k in ("password", "code")}},
            refused_changes_nothing=False,
        )
        post(
            client,
            "/login",
            {k: v for k, v in data.items() if k in ("email", "password", "code")},
            refused_changes_nothing=False,
        )
        post(client, "/login/unlock", {k: v for k, v in data.items() if k == "email"})
        post(client, "/login/unlock", {"email": world.afw.email})
        token = quote(str(data.get("token", "x")), safe="")
        show(client, f"/login/unlock/{token}")
        post(client, f"/login/unlock/{token}", data)
        post(person, "/account/sessions/end-others", data)
        post(admin, f"/admin/users/{world.rev2.id}/sessions/end", data)
        db.session.execute(delete(LoginFailure))
        db.session.commit()

    fuzz(
        backend,
        fields(
            "email",
            "password",
            "code",
            "token",
            "confirm",
            code=CODES,
            confirm=st.sampled_from(["y", "1", "on", ""]),
        ),
        body,
        explicit=({"password": PASSWORD, "code": "١٢٣٤٥٦"}, {"password": PASSWORD, "code": "000000"}),
    )


def test_the_office_forms(app, world, backend):
    """Hostile values into a new office and an office's data: never a 500, never a half-written office."""
    client = app.test_client()
    login(client, world.admin.email)
    strategy = fields("key", "short_name", "name", "head_name", "email", "address", "decides_by_default")

    def body(data):
        post(client, "/admin/offices/new", data)
        post(client, "/admin/offices/1", data)
        show(client, "/admin/offices", "/admin/offices/1")

    fuzz(
        backend,
        strategy,
        body,
        explicit=(
            {"key": "KA", "short_name": "KA", "name": "Doppelt"},  # a key and a short name taken
            {"key": "Ämt", "short_name": "Ä", "name": "Umlaut im Kürzel"},
            {"key": "JA", "short_name": "AfWiFö", "name": "Kurzname eines anderen Amtes"},
        ),
    )
