"""Configuration: the embedded default needs nothing; the real stack reads the environment."""
import os


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    # Empty DATABASE_URL: SQLite file in the instance folder (set in create_app).
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    BROKER_URL = os.environ.get("BROKER_URL", "")
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", "")
    OUTBOX_DIR = os.environ.get("OUTBOX_DIR", "")
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024
    MAIL_FROM = os.environ.get("MAIL_FROM", "foerdercall@leipzig.example")
    # Run the periodic sweep (close calls, lapse deadlines) in a thread of the web process.
    INPROCESS_WORKER = os.environ.get("INPROCESS_WORKER", "")
    SWEEP_INTERVAL_SECONDS = int(os.environ.get("SWEEP_INTERVAL_SECONDS", "30"))
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
    LANGUAGES = ("de", "en")
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
