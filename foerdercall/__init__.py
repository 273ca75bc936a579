"""foerdercall: a workflow engine for municipal funding calls."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .config import Config
from .text import MAX_ID

ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance: Path, name: str = "secret_key") -> str:
    """A stable random key for the embedded default, kept in the instance folder: written readable by the owner
    only (mode 0600) and put in place whole (a process starting at the same moment reads the same key)."""
    path = instance / name
    if not path.exists():
        tmp = instance / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # fails when another process was first: its key stays
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


class RowId(IntegerConverter):
    """``<int:…>`` in every route: an id the database can hold (a larger number is a 404, not a 500)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("FOERDERCALL_INSTANCE") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.url_map.converters["int"] = RowId  # before any route is added
    app.config.from_object(Config)
    app.config.update(
        EU_THRESHOLD_CENTS=int(os.environ.get("EU_THRESHOLD_CENTS", 216_000_00)),
    )
    if test_config:
        app.config.update(test_config)
    embedded = not app.config[
        "SQLALCHEMY_DATABASE_URI"
    ]  # no database configured: SQLite in the instance folder
    # The app factory wires the whole app: these imports at the package's top would load every module for any
    # `import foerdercall.<module>` (the worker's, the CLI's, the migrations').
    from .logs import init_app as init_logs
    from .urls import init_app as init_urls

    init_logs(app, embedded=embedded)
    init_urls(app, embedded=embedded)  # PUBLIC_URL (required outside the embedded default), TRUSTED_HOSTS
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if app.config["SESSION_COOKIE_SECURE"] is None:  # HTTPS only, but for the embedded default and tests
        app.config["SESSION_COOKIE_SECURE"] = not embedded and not app.testing
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    if hops := app.config["TRUSTED_PROXIES"]:  # the client's address and scheme as the proxy saw them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]  # Flask's way to wrap it
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'foerdercall.sqlite'}"
        if not app.config["AUDIT_KEY"]:  # the embedded default: a key of its own next to the database file
            app.config["AUDIT_KEY"] = _secret_key(instance, "audit_key")
    # otherwise an empty AUDIT_KEY is derived from SECRET_KEY (audit.trail.audit_keys)
    if not app.config["SECRET_KEY"]:
        if not (embedded or app.testing):  # a key made on one machine would not be the key of the next one
            from .urls import ConfigError  # see above

            raise ConfigError(
                "SECRET_KEY is not set. Outside the embedded default (DATABASE_URL is set) every web, worker and "
                "beat process, on every machine, needs the same key (sessions, signed links, the audit key "
                "derived from it), e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        app.config["SECRET_KEY"] = _secret_key(instance)
    app.config["UPLOAD_DIR"] = app.config["UPLOAD_DIR"] or str(instance / "uploads")
    app.config["OUTBOX_DIR"] = app.config["OUTBOX_DIR"] or str(instance / "outbox")
    app.config["AUDIT_CHECKPOINT_FILE"] = app.config["AUDIT_CHECKPOINT_FILE"] or str(
        instance / "audit-checkpoints.log"
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}
    else:
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {"connect_timeout": app.config["DATABASE_CONNECT_TIMEOUT"]} | options.get(
            "connect_args", {}
        )
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    from . import effects, models  # noqa: F401  (register every table and every workflow effect)
    from .extensions import babel, csrf, db, login_manager, migrate
    from .i18n import select_locale
    from .session_events import register as register_session_events

    effects.check_complete()
    register_session_events()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    from .translations import compile_catalogues  # see above

    compiled = compile_catalogues(ROOT / "translations", instance / "translations")
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(compiled))
    login_manager.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _sqlite_pragmas(app)

    from . import web  # see above

    web.init_app(app)
    return app


def _sqlite_pragmas(app: Flask) -> None:
    from .extensions import db  # see create_app

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN (savepoints work)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            # One writer at a time: the embedded stand-in for PostgreSQL's row locks.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
