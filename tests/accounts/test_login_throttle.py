"""Failed logins are throttled per account (5 in 15 minutes) and per client address (20), in the database."""

from __future__ import annotations

from account_helpers import audit_actions
from conftest import PASSWORD

from foerdercall.extensions import db

WRONG = "not the password"


def _login(client, email, password, address="10.0.0.1"):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_five_failures_lock_the_account_for_fifteen_minutes(app, world, clock):
    client = app.test_client()
    for _i in range(5):
        assert _login(client, "app@x.test", WRONG).status_code == 422
    clock.advance(minutes=3)
    # now even the right password is refused, with the time to try again
    r = _login(client, "app@x.test", PASSWORD)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) == 12 * 60
    page = r.get_data(as_text=True)
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in page
    assert "01.10.2026, 09:15 Uhr" in page and "noch etwa 12 Minuten" in page
    # from another address as well: the account is what is throttled
    assert _login(app.test_client(), "app@x.test", PASSWORD, address="10.9.9.9").status_code == 429
    # other accounts log in as usual
    assert _login(app.test_client(), "app2@x.test", PASSWORD).status_code == 302

    clock.advance(minutes=12)  # the first failure leaves the window
    r = _login(client, "app@x.test", PASSWORD)
    assert r.status_code == 302
    [event] = audit_actions("login_throttled")  # once, when the limit was reached (not per refused request)
    assert event.object_id == world.applicant.id and event.data["scope"] == "account"


def test_a_successful_login_clears_the_accounts_failures(app, world, clock):
    client = app.test_client()
    for _i in range(4):
        _login(client, "app@x.test", WRONG)
    assert _login(client, "app@x.test", PASSWORD).status_code == 302
    for _i in range(4):
        assert _login(app.test_client(), "app@x.test", WRONG).status_code == 422
    assert _login(app.test_client(), "app@x.test", PASSWORD).status_code == 302


def test_unknown_accounts_are_throttled_the_same_way(app, world):
    """No hint which addresses have an account."""
    for _i in range(5):
        assert _login(app.test_client(), "nobody@x.test", WRONG).status_code == 422
    r = _login(app.test_client(), "Nobody@X.test", WRONG)
    assert r.status_code == 429 and r.headers["Retry-After"] == "900"
    [event] = audit_actions("login_throttled")
    assert event.data["email"] == "nobody@x.test" and event.object_type == "login_failures"


def test_twenty_failures_from_one_address_lock_the_address(app, world, clock):
    emails = [f"guess{i}@x.test" for i in range(20)]
    for i, email in enumerate(emails):
        assert _login(app.test_client(), email, WRONG, address="192.0.2.7").status_code == 422, i
        clock.advance(seconds=10)
    # every account from that address, even a right password
    r = _login(app.test_client(), "app@x.test", PASSWORD, address="192.0.2.7")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) == 900 - 200
    # the same account from elsewhere is fine (the account itself had no failures)
    assert _login(app.test_client(), "app@x.test", PASSWORD, address="198.51.100.1").status_code == 302
    assert [e.data["scope"] for e in audit_actions("login_throttled")] == ["address"]
    clock.advance(seconds=700)
    assert _login(app.test_client(), "app@x.test", PASSWORD, address="192.0.2.7").status_code == 302


def test_failures_are_rows_in_the_database_and_old_ones_are_forgotten(app, world, clock):
    """Counted in the database (every web process sees the same counts); rows past the window go."""
    from foerdercall.accounts.models import LoginFailure

    for _i in range(3):
        _login(app.test_client(), "app@x.test", WRONG)
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(LoginFailure)) == 3
    clock.advance(minutes=16)
    _login(app.test_client(), "app2@x.test", WRONG)
    assert [f.email for f in db.session.scalars(db.select(LoginFailure))] == ["app2@x.test"]


def _second_app(app, **extra):
    """Another app on the same database (another gunicorn worker)."""
    from foerdercall import create_app

    return create_app(
        {
            **{
                key: app.config[key]
                for key in (
                    "TESTING",
                    "SECRET_KEY",
                    "SQLALCHEMY_DATABASE_URI",
                    "WTF_CSRF_ENABLED",
                    "SERVER_NAME",
                    "UPLOAD_DIR",
                    "OUTBOX_DIR",
                    "PUBLIC_URL",
                )
            },
            **extra,
        }
    )


def test_two_web_processes_count_together(app, world):
    """A second app on the same database sees the failures of the first."""
    other = _second_app(app)
    try:
        for _i in range(3):
            assert _login(app.test_client(), "app@x.test", WRONG).status_code == 422
        for _i in range(2):
            assert _login(other.test_client(), "app@x.test", WRONG).status_code == 422
        assert _login(app.test_client(), "app@x.test", PASSWORD).status_code == 429
        assert _login(other.test_client(), "app@x.test", PASSWORD).status_code == 429
    finally:
        with other.app_context():
            db.engine.dispose()


def test_behind_a_proxy_the_forwarded_client_address_counts(app, world):
    """TRUSTED_PROXIES=1 (nginx in front): the address is the client's, not the proxy's."""
    proxied = _second_app(app, TRUSTED_PROXIES=1)

    def attempt(email, password, client_address):
        return proxied.test_client().post(
            "/login",
            data={"email": email, "password": password},
            headers={"X-Forwarded-For": client_address},
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        )

    try:
        for i in range(20):
            assert attempt(f"guess{i}@x.test", WRONG, "203.0.113.5").status_code == 422
        assert attempt("app@x.test", PASSWORD, "203.0.113.5").status_code == 429
        assert attempt("app@x.test", PASSWORD, "203.0.113.6").status_code == 302  # the proxy is not blocked
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_parallel_guesses_are_counted_exactly(pg_app):
    """Ten wrong passwords for one account at the same moment (PostgreSQL): five are checked, five refused."""
    import threading

    from foerdercall.accounts.models import LoginFailure
    from foerdercall.accounts.operations import create_user

    create_user("app@x.test", "Ada", PASSWORD)
    db.session.commit()
    barrier, statuses = threading.Barrier(10), []

    def guess(i):
        client = pg_app.test_client()
        barrier.wait()
        statuses.append(_login(client, "app@x.test", f"guess number {i}").status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [422] * 5 + [429] * 5
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(LoginFailure)) == 5
