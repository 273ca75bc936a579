"""Test fixtures: the real app on SQLite and on PostgreSQL, an injectable clock, and a small world.

PostgreSQL: TEST_DATABASE_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test) is used to
create a fresh database for this run; the schema comes from the Alembic migrations. Under CI=true a
missing PostgreSQL fails the run; elsewhere the PostgreSQL tests are skipped.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text

from foerdercall import create_app, timeutil
from foerdercall.accounts import operations as account_ops
from foerdercall.accounts.passwords import Argon2idHasher

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "http://foerdercall.test"  # the tests' public address (the test client's host)

# Cheap hashing in tests (the argon2 parameters are not under test).
account_ops._hasher = Argon2idHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: runs on the embedded SQLite backend only")


# Run alone after the parallel part (scripts/test): they time things against worker or server processes of their
# own, or stop servers, and a second test beside them on two cores would make them slow or flaky.
SERIAL = (
    "robustness/",
    "worker/test_celery_worker.py",
    "worker/test_faults.py",
    "worker/test_outages.py",
    "worker/test_reminders_over_smtp.py",
    "test_races_pg.py",
    "test_database_outage.py",
)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Marks the SERIAL tests; a test marked sqlite_only is not collected for PostgreSQL at all (deselected, not
    reported as skipped)."""
    tests = Path(__file__).parent
    for item in items:
        where = item.path.relative_to(tests).as_posix()
        if where.startswith(SERIAL):
            item.add_marker(pytest.mark.serial)
        elif where.startswith("browser/"):  # one process starts the browser and the demo servers once
            item.add_marker(pytest.mark.xdist_group("browser"))
    dropped = [
        item
        for item in items
        if item.get_closest_marker("sqlite_only")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("backend") == "postgresql"
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]


@pytest.fixture(autouse=True)
def _root_log_handlers():
    """An app made for production (LOG_FORMAT json) adds its handler to the root logger once per process, bound to
    the stderr of that moment: each test leaves the root logger's handlers as it found them."""
    root = logging.getLogger()
    before = list(root.handlers)
    yield
    root.handlers[:] = before


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


def require_service(name: str, problem: str | None) -> None:
    if problem is None:
        return
    if CI:
        pytest.fail(f"{name} is required under CI=true but not reachable: {problem}")
    pytest.skip(f"{name} not reachable: {problem}")


def _migrate(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)


@pytest.fixture(scope="session")
def pg_url():
    require_service("PostgreSQL", _pg_available())
    name = f"fc_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_schema(pg_url, tmp_path_factory):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": pg_url,
            "SECRET_KEY": "t",
            "PUBLIC_URL": PUBLIC_URL,
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("u")),
        }
    )
    _migrate(app)
    with app.app_context():
        from foerdercall.extensions import db

        tables = [t.name for t in db.metadata.sorted_tables]
        db.engine.dispose()
    return tables


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "SECRET_KEY": "t",
            "PUBLIC_URL": PUBLIC_URL,
            "FOERDERCALL_INSTANCE": str(path.parent),
        }
    )
    _migrate(app)
    with app.app_context():
        from foerdercall.extensions import db

        db.engine.dispose()
    return path


def _config(tmp_path, uri: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": uri,
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "AUDIT_CHECKPOINT_FILE": str(
            tmp_path / "audit-checkpoints.log"
        ),  # not the repository's instance folder
        "SERVER_NAME": "foerdercall.test",
        "PUBLIC_URL": PUBLIC_URL,  # every link in a mail or calendar file (foerdercall/urls.py)
        # the tests move the clock by weeks while a browser stays logged in; the lifetime's own tests set 12 hours
        "SESSION_LIFETIME_HOURS": 24 * 365,
    }


def _seed_offices(conn) -> None:
    """The offices the migration creates: KA and AfWiFö, both deciding new calls by default."""
    from foerdercall.offices.models import Office

    migration = next((ROOT / "migrations" / "versions").glob("*_offices.py"))
    spec = importlib.util.spec_from_file_location("offices_migration", migration)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    created = dt.datetime.now(dt.UTC)
    conn.execute(
        Office.__table__.insert(),
        [
            {**o, "head_name": "", "email": "", "decides_by_default": True, "created_at": created}
            for o in module.FIRST_OFFICES
        ],
    )


def _emptied(tables: list[str]) -> str:
    """Every table emptied and every sequence back at 1, as after the migrations. DELETE, not TRUNCATE: for the few
    rows of a test it takes milliseconds where TRUNCATE's new files for 40 tables take a third of a second."""
    deletes = "; ".join(f'DELETE FROM "{t}"' for t in reversed(tables))
    sequences = (
        "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
    )
    # replica: no foreign key triggers while emptying (the order alone would do but for cycles)
    return f"SET LOCAL session_replication_role = replica; {deletes}; {sequences}"


def make_app(backend: str, request, tmp_path, **extra):
    if backend == "postgresql":
        pg_url = request.getfixturevalue("pg_url")
        tables = request.getfixturevalue("pg_schema")
        app = create_app({**_config(tmp_path, pg_url), **extra})
        with app.app_context():
            from foerdercall.extensions import db

            with db.engine.begin() as conn:
                conn.exec_driver_sql(_emptied(tables))
                _seed_offices(conn)  # as the migration leaves them (the SQLite copy keeps its rows)
        return app
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "fc.sqlite"
    shutil.copy(template, path)
    return create_app({**_config(tmp_path, f"sqlite:///{path}"), **extra})


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    if request.param == "postgresql" and request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite only")
    return request.param


def _pushed(app):
    """Keep an app context for the test's own database work; close every connection afterwards."""
    from foerdercall.extensions import db
    from foerdercall.mail.delivery import close_claimant

    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    close_claimant(app)
    ctx.pop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(backend, request, tmp_path):
    yield from _pushed(make_app(backend, request, tmp_path))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    """A database of this test's own (the migration is run down and up again on it)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite'}"
        return
    yield from own_pg_database("migrate")


def own_pg_database(purpose: str):
    """An empty PostgreSQL database of the test's own (its URL), dropped afterwards."""
    require_service("PostgreSQL", _pg_available())
    name = f"fc_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migrated_app(url: str, tmp_path):
    """The app on a database of a test's own (``fresh_database``), migrated to the head: a migration test runs it
    down to a revision, stores rows as they were then, and up again."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "migration-secret",
            "PUBLIC_URL": PUBLIC_URL,
            "UPLOAD_DIR": str(tmp_path / "u"),
            "FOERDERCALL_INSTANCE": str(tmp_path),
        }
    )
    _migrate(app)
    return app


@pytest.fixture
def pg_app(request, tmp_path):
    """The app on PostgreSQL only (races, locks)."""
    yield from _pushed(make_app("postgresql", request, tmp_path))


@dataclass
class Clock:
    t: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.t

    def set(self, value: dt.datetime) -> None:
        self.t = value.astimezone(dt.UTC)

    def advance(self, **kw) -> None:
        self.t = self.t + dt.timedelta(**kw)


def berlin(*args) -> dt.datetime:
    """An aware UTC datetime from a wall-clock time in Leipzig."""
    return timeutil.berlin_to_utc(dt.datetime(*args))


@pytest.fixture
def clock():
    c = Clock(berlin(2026, 10, 1, 9, 0))
    timeutil.set_clock(c)
    yield c
    timeutil.set_clock(None)


PDF = b"%PDF-1.4\n%test\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

ROLES = {
    # key: (email, name, roles, office)
    "admin": ("admin@x.test", "Anna Admin", ("admin",), None),
    "ka": ("ka@x.test", "Karla KA", ("official",), "KA"),
    "ka2": ("ka2@x.test", "Konrad KA", ("official",), "KA"),
    "afw": ("afw@x.test", "Wolfgang AfWiFö", ("official",), "AfWiFoe"),
    "rev1": ("rev1@x.test", "Rita Reviewer", ("reviewer",), None),
    "rev2": ("rev2@x.test", "Rolf Reviewer", ("reviewer",), None),
    "advisor": ("advisor@x.test", "Carla Kontaktstelle", ("advisor",), None),
    "applicant": ("app@x.test", "Ada Applicant", ("applicant",), None),
    "applicant2": ("app2@x.test", "Bruno Applicant", ("applicant",), None),
}

DEADLINE = (2026, 10, 31, 23, 59)  # Leipzig time


@pytest.fixture
def world(app, clock):
    """Users for every role and a published call (deadline 31.10.2026, 23:59 Leipzig time) that asks for one
    review per proposal."""
    from foerdercall.calls.operations import create_call
    from foerdercall.extensions import db

    users = {}
    for key, (email, name, roles, office) in ROLES.items():
        users[key] = account_ops.create_user(email, name, PASSWORD, roles=roles, office=office)
    call = create_call(
        users["ka"],
        code="KW26",
        title="Kreativwirtschaft 2026",
        description="Testaufruf",
        fields_of_action=["networks", "marketing"],
        budget_cents=50_000_00,
        max_amount_cents=25_000_00,
        estimated_value_cents=50_000_00,
        opens_at=berlin(2026, 9, 1, 0, 0),
        submission_deadline=berlin(*DEADLINE),
        reviewers_per_proposal=1,  # one review completes a proposal's review here (tests that need more say so)
    )
    publish(call, users["ka"])
    neutral(call, *(users[key] for key in ("ka", "ka2", "afw", "advisor")))
    db.session.commit()
    return SimpleNamespace(call=call, **users)


def criteria_fields(rows="60 | 2 | Qualität\n40 | - | Wirkung", prefix="criteria") -> dict[str, str]:
    """The call form's criteria rows as a browser posts them, from the short lines "weight | knock-out | name"
    (or a list of (weight, knock-out or None, name)); a row's key is left out: a new row."""
    if isinstance(rows, str):
        rows = [[p.strip() for p in line.split("|")] for line in rows.splitlines() if line.strip()]
    fields: dict[str, str] = {}
    for i, (weight, ko, name) in enumerate(rows):
        fields[f"{prefix}-{i}-name"] = name
        fields[f"{prefix}-{i}-weight"] = str(weight)
        fields[f"{prefix}-{i}-knockout_min"] = "" if ko in (None, "-") else str(ko)
    return fields


def field_rows(*keys: str, prefix: str = "fields_of_action") -> dict[str, str]:
    """The call form's fields of action as a browser posts them: rows of the default catalogue, by key."""
    from foerdercall.calls.operations import DEFAULT_FIELDS_OF_ACTION

    by_key = {f["key"]: f for f in DEFAULT_FIELDS_OF_ACTION}
    fields: dict[str, str] = {}
    for i, key in enumerate(keys):
        fields.update({f"{prefix}-{i}-{name}": by_key[key][name] for name in ("key", "de", "en")})
    return fields


def call_form(**changes) -> dict:
    """A good post of the call form (a new call): two criteria, two deciding offices; ``changes`` on top."""
    data = {
        "code": "KW27",
        "title": "Kreativwirtschaft 2027",
        "description": "",
        **field_rows("networks"),
        "deciding_offices": ["KA", "AfWiFoe"],
        "mode": "procurement",
        "estimated_value": "",
        "budget": "100.000,00",
        "max_amount": "25.000,00",
        "opens_at": "2027-01-01T00:00",
        "submission_deadline": "2027-03-31T23:59",
        "clarification_days": "14",
        "acceptance_days": "28",
        "implementation_months": "12",
        "scale_max": "5",
        "min_total": "50",
        "signoff_reminder_days": "3",
        "signoff_escalation_days": "5",
        "milestone_reminder_days": "7",
        "implementation_reminder_days": "30",
        "retention_months": "6",
        **criteria_fields(),
    }
    data.update(changes)
    return data


def publish(call, actor):
    """Publish a draft call as an official does: the privacy notice marked as checked, then ``publish``."""
    from foerdercall.calls.operations import mark_privacy_checked
    from foerdercall.workflow.engine import fire

    mark_privacy_checked(call, actor)
    return fire(call, "publish", actor)


def published_call(world, **fields):
    """Another published call like the world's (deadline 31.10.2026, 23:59; budget 50.000 €, 25.000 € a measure,
    one review a proposal) with these fields, its deciding officials neutral."""
    from foerdercall.calls.operations import create_call
    from foerdercall.extensions import db

    call = create_call(
        world.ka,
        **{
            "code": "KW26B",
            "title": "Kreativwirtschaft 2026 (zweiter Aufruf)",
            "description": "",
            "fields_of_action": ["networks"],
            "budget_cents": 50_000_00,
            "max_amount_cents": 25_000_00,
            "estimated_value_cents": 50_000_00,
            "opens_at": berlin(2026, 9, 1, 0, 0),
            "submission_deadline": berlin(*DEADLINE),
            "reviewers_per_proposal": 1,
            **fields,
        },
    )
    publish(call, world.ka)
    neutral(call, world.ka, world.afw)
    db.session.commit()
    return call


def neutral(call, *users):
    """Who will see the call's proposals (officials, the advisor) signs its declaration of neutrality."""
    from foerdercall.reviews.operations import sign_neutrality

    for user in users:
        sign_neutrality(call, user)


def fill_draft(p, user, amount=10_000_00, title="Netzwerk Plagwitz"):
    """Complete answers and every required attachment, through the operations."""
    import io

    from foerdercall.proposals.operations import add_attachment, save_draft

    save_draft(
        p,
        user,
        {
            "title": title,
            "summary": "Kurz",
            "description": "Konzept",
            "work_plan": "Plan",
            "team": "Team",
            "leipzig_relation": "Leipzig",
            "field_of_action": "networks",
            "requested_amount_cents": amount,
        },
    )
    for q in p.call.form_definition.questions():
        if q.type == "attachment" and q.required:
            add_attachment(p, user, q.key, io.BytesIO(PDF), f"{q.key}.pdf")
    return p


@pytest.fixture
def draft(app, world):
    """The applicant's draft of the world's call, and a client logged in as the applicant."""
    from foerdercall.extensions import db
    from foerdercall.proposals.operations import start_draft

    p = start_draft(world.call, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, "app@x.test")
    return p, client


def untimed(page: bytes) -> bytes:
    """A page without its CSRF tokens' values, to compare two pages: a token carries the second it was signed in,
    and two requests may fall into different seconds."""
    return re.sub(rb'name="csrf_token" value="[^"]*"', b'name="csrf_token" value=""', page)


def login(client, email: str, password: str = PASSWORD):
    resp = client.post("/login", data={"email": email, "password": password})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp


def approve_after_deadline(world, clock, call, p, q=None):
    """After the deadline: close `call`, open it (KA requests, AfWiFö confirms), declare `p` eligible (and
    `q`, if given, ineligible), one review by rev1, both sign-offs (approved). Returns the rev1 review."""
    from foerdercall.awards.operations import sign_off

    review = review_after_deadline(world, clock, call, p, q)
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    return review


def review_after_deadline(world, clock, call, p, q=None):
    """As :func:`approve_after_deadline`, up to the review: `p` is reviewed, nobody has signed yet."""
    from foerdercall.calls.operations import confirm_opening, request_opening
    from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
    from foerdercall.workflow.engine import fire

    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(call, "close", None)
    request_opening(call, world.ka)
    confirm_opening(call, world.afw)
    fire(p, "declare_eligible", world.ka)
    if q is not None:
        fire(q, "declare_ineligible", world.ka, reason="Kein Bezug zu Leipzig")
    sign_neutrality(call, world.rev1)
    review = assign_reviewer(p, world.rev1, world.ka)
    fire(p, "start_review", world.ka)
    declare_conflict(p, world.rev1, False)
    save_review(review, world.rev1, {c.id: (4, "überzeugend") for c in call.criteria}, submit=True)
    return review


def award_after_deadline(world, clock, call, p, q=None):
    """:func:`approve_after_deadline`, then the award. Returns the rev1 review."""
    from foerdercall.awards.operations import make_award

    review = approve_after_deadline(world, clock, call, p, q)
    make_award(p, world.ka)
    return review


# --- the worker stack (tests/worker): a Redis queue of the test's own, worker processes, an SMTP sink -----------


@pytest.fixture
def redis_queue():
    """(broker URL, queue name): a queue of this test's own on TEST_REDIS_URL, removed afterwards (not FLUSHDB:
    another run of the suite on the same machine may be using the database at the same time)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        require_service("Redis", str(exc))
    queue = f"fc-test-{uuid.uuid4().hex[:12]}"
    yield REDIS_URL, queue
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    client.close()


@pytest.fixture
def stack(app, world, redis_queue, tmp_path):
    """The test's app with the broker, an SMTP sink, and the worker processes the test starts (stopped after)."""
    from smtp_sink import SmtpServer
    from workerstack import Stack

    with SmtpServer() as smtp:
        s = Stack(app, world, smtp, redis_queue, tmp_path)
        try:
            yield s
        finally:
            s.stop()
            if "celery" in app.extensions:
                app.extensions["celery"].close()


@pytest.fixture(scope="module")
def private_pg():
    """A PostgreSQL server of the module's own, which its tests may stop and start (tests/private_services.py)."""
    from private_services import PG_BINS, PrivatePostgres

    require_service("PostgreSQL server binaries", None if PG_BINS else "no /usr/lib/postgresql/*/bin/pg_ctl")
    server = PrivatePostgres()
    yield server
    server.close()
