"""Configuration: the embedded default needs nothing; the real stack reads the environment."""

import os


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    # Empty DATABASE_URL: SQLite file in the instance folder (set in create_app).
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # Seconds a connection to PostgreSQL may take before it counts as failed: a database host that drops packets
    # (rather than refusing) must not hold a request, /ready or the worker for the minutes of TCP's own timeout.
    DATABASE_CONNECT_TIMEOUT = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    # Logs: "json" (lines on stderr, with the request's id), "text" (left to the server); empty: json outside
    # the embedded default. /metrics answers only a request with "Authorization: Bearer <METRICS_TOKEN>".
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    BROKER_URL = os.environ.get("BROKER_URL", "")
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", "")
    OUTBOX_DIR = os.environ.get("OUTBOX_DIR", "")
    # Who runs this instance, as the footer and the accessibility statement name it; the offices that decide are
    # data (offices/), never named here.
    OPERATOR_NAME = os.environ.get("OPERATOR_NAME", "Stadt Leipzig")
    CONTACT_NAME = os.environ.get("CONTACT_NAME", "Stadt Leipzig – Kontaktstelle Kreativwirtschaft")
    CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "barrierefreiheit@leipzig.example")
    CONTACT_ADDRESS = os.environ.get("CONTACT_ADDRESS", "Stadt Leipzig, 04092 Leipzig")
    # Where measures take place (appform.places: a JSON file of districts and quarters; Leipzig's by default), and
    # the prefixes of the open data's identifiers (an OCDS prefix is registered with the Open Contracting
    # Partnership, a 360Giving prefix with 360Giving).
    PLACES_FILE = os.environ.get("PLACES_FILE", "")
    OCDS_PREFIX = os.environ.get("OCDS_PREFIX", "ocds-foerdercall")
    GRANT_PREFIX = os.environ.get("GRANT_PREFIX", "360G-foerdercall")
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024
    # Upload quotas (foerdercall/proposals/operations.py, add_attachment), in files and MB (1 MB = 1024*1024 bytes).
    # A call asks for 4-6 documents (cost plan, CV/references, register extract, work samples, letters of
    # intent); with re-uploads, answers to requests for missing documents and a few large scans a proposal needs
    # far less than 20 files / 100 MB. An account takes part in several calls over the years: 100 files / 500 MB.
    # Removed files free their place; 0 means no files at all.
    UPLOAD_MAX_FILES_PER_PROPOSAL = int(os.environ.get("UPLOAD_MAX_FILES_PER_PROPOSAL", "20"))
    UPLOAD_MAX_MB_PER_PROPOSAL = int(os.environ.get("UPLOAD_MAX_MB_PER_PROPOSAL", "100"))
    UPLOAD_MAX_FILES_PER_ACCOUNT = int(os.environ.get("UPLOAD_MAX_FILES_PER_ACCOUNT", "100"))
    UPLOAD_MAX_MB_PER_ACCOUNT = int(os.environ.get("UPLOAD_MAX_MB_PER_ACCOUNT", "500"))
    # The active-content check of uploaded PDFs (foerdercall/proposals/filecheck.py): at most this many MB
    # decoded from a file's object streams and this many seconds; past either the file is refused as uninspectable.
    UPLOAD_PDF_INSPECT_MAX_MB = int(os.environ.get("UPLOAD_PDF_INSPECT_MAX_MB", "32"))
    UPLOAD_PDF_INSPECT_SECONDS = float(os.environ.get("UPLOAD_PDF_INSPECT_SECONDS", "10"))
    # Virus scanning of every upload by a clamd server (INSTREAM): a unix socket path or host:port; empty: none.
    # Unreachable or failing, it refuses the upload (fail closed). The timeout is per connect/send/answer.
    CLAMD_SOCKET = os.environ.get("CLAMD_SOCKET", "")
    CLAMD_TIMEOUT_SECONDS = float(os.environ.get("CLAMD_TIMEOUT_SECONDS", "30"))
    MAIL_FROM = os.environ.get("MAIL_FROM", "foerdercall@leipzig.example")
    # SMTP (empty host: mail stays in the outbox folder). Port 0: 25, 587 (starttls) or 465 (ssl).
    MAIL_SMTP_HOST = os.environ.get("MAIL_SMTP_HOST", "")
    MAIL_SMTP_PORT = int(os.environ.get("MAIL_SMTP_PORT", "0"))
    MAIL_SMTP_SECURITY = os.environ.get("MAIL_SMTP_SECURITY", "starttls")  # none | starttls | ssl
    MAIL_SMTP_USER = os.environ.get("MAIL_SMTP_USER", "")
    MAIL_SMTP_PASSWORD = os.environ.get("MAIL_SMTP_PASSWORD", "")
    MAIL_SMTP_TIMEOUT = float(os.environ.get("MAIL_SMTP_TIMEOUT", "30"))
    # Delivery: attempts before a mail is 'failed'; the first back-off (doubling, with jitter, at most
    # MAIL_MAX_BACKOFF_SECONDS); how long a claimed mail may stay 'sending' before it counts as abandoned
    # (longer than any SMTP conversation; on PostgreSQL a dead worker's claims count as abandoned at once);
    # how long a mail handed to the broker may wait before the relay hands it over again.
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "12"))
    MAIL_RETRY_SECONDS = float(os.environ.get("MAIL_RETRY_SECONDS", "5"))
    MAIL_RETRY_JITTER = float(
        os.environ.get("MAIL_RETRY_JITTER", "0.5")
    )  # up to this share longer, at random
    MAIL_MAX_BACKOFF_SECONDS = float(os.environ.get("MAIL_MAX_BACKOFF_SECONDS", "1800"))
    # The relay or the database away: each worker process pauses delivery (a circuit breaker), first for
    # MAIL_BREAKER_SECONDS, doubling up to MAIL_BREAKER_MAX_SECONDS, then tries one batch.
    MAIL_BREAKER_SECONDS = float(os.environ.get("MAIL_BREAKER_SECONDS", "2"))
    MAIL_BREAKER_MAX_SECONDS = float(os.environ.get("MAIL_BREAKER_MAX_SECONDS", "15"))
    # Mails that failed because the relay was away go out again by themselves once it takes mail: this often.
    MAIL_AUTO_RETRIES = int(os.environ.get("MAIL_AUTO_RETRIES", "3"))
    MAIL_BATCH_SIZE = int(os.environ.get("MAIL_BATCH_SIZE", "50"))  # mails per delivery task (one connection)
    MAIL_CLAIM_TIMEOUT_SECONDS = float(os.environ.get("MAIL_CLAIM_TIMEOUT_SECONDS", "300"))
    MAIL_REDISPATCH_SECONDS = float(os.environ.get("MAIL_REDISPATCH_SECONDS", "60"))
    # With a broker: the mails a web process's requests committed within this many seconds go to the worker
    # as one task (0: one task per request, sent before the response). foerdercall/broker.py, DispatchBuffer.
    MAIL_DISPATCH_DELAY_SECONDS = float(os.environ.get("MAIL_DISPATCH_DELAY_SECONDS", "0.25"))
    # The Celery worker (BROKER_URL set): its queue (mail, jobs), the queue of the schedule (sweep, relay;
    # default: WORKER_QUEUE + "-schedule"), the relay's period, the broker's redelivery timeout (must exceed
    # the longest wait of a task: MAIL_MAX_BACKOFF_SECONDS + MAIL_CLAIM_TIMEOUT_SECONDS; checked at start).
    WORKER_QUEUE = os.environ.get("WORKER_QUEUE", "foerdercall")
    WORKER_SCHEDULE_QUEUE = os.environ.get("WORKER_SCHEDULE_QUEUE", "")
    RELAY_INTERVAL_SECONDS = float(os.environ.get("RELAY_INTERVAL_SECONDS", "15"))
    WORKER_VISIBILITY_TIMEOUT = int(os.environ.get("WORKER_VISIBILITY_TIMEOUT", "3600"))
    # Run the periodic sweep (close calls, lapse deadlines) in a thread of the web process; its period (also
    # the beat's).
    INPROCESS_WORKER = os.environ.get("INPROCESS_WORKER", "")
    SWEEP_INTERVAL_SECONDS = int(os.environ.get("SWEEP_INTERVAL_SECONDS", "30"))
    # Bulk actions above these sizes run as jobs with a progress page (foerdercall/jobs); smaller ones at once.
    SIGN_OFF_SYNC_LIMIT = int(os.environ.get("SIGN_OFF_SYNC_LIMIT", "20"))  # proposals signed in one request
    EXPORT_SYNC_LIMIT = int(
        os.environ.get("EXPORT_SYNC_LIMIT", "200")
    )  # proposals of a call exported at once
    # Text of a post refused for its session, kept for its browser (foerdercall/parking): at most this many
    # anonymous posts per client address (IPv6: per /64), so one client cannot fill the global cap; past it the
    # post is refused with its text shown back to copy.
    PARK_MAX_PER_ADDRESS = int(os.environ.get("PARK_MAX_PER_ADDRESS", "50"))
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
    LANGUAGES = ("de", "en")
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Secure cookies (HTTPS only). Unset: on, except for the embedded default (SQLite, plain HTTP on
    # localhost) and under TESTING (create_app decides); "0"/"false" turns them off (a plain-HTTP benchmark).
    SESSION_COOKIE_SECURE = (
        None
        if os.environ.get("SESSION_COOKIE_SECURE", "") == ""
        else os.environ["SESSION_COOKIE_SECURE"].lower() in ("1", "true", "yes", "on")
    )
    # The public address people reach the app at (https://foerdercall.leipzig.de, with a path prefix if any):
    # every link in a mail or calendar file is built from it, never from the request's Host header
    # (foerdercall/urls.py). Required outside the embedded default, for the web, worker and beat processes alike;
    # the embedded default uses the address `foerdercall serve` serves (http://127.0.0.1:5000).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "")
    # The host names the app answers for, comma separated (Flask's TRUSTED_HOSTS; ".example.org" also takes its
    # subdomains); a request for another host is a 400 page. Empty: the host of PUBLIC_URL plus localhost and
    # 127.0.0.1 (health checks on the machine), except in the embedded default, which answers any host.
    TRUSTED_HOSTS = os.environ.get("TRUSTED_HOSTS", "")
    # Account security: how long links live, login throttling, the 2FA step.
    EMAIL_VERIFY_MAX_AGE_SECONDS = int(os.environ.get("EMAIL_VERIFY_MAX_AGE_SECONDS", str(7 * 24 * 3600)))
    PASSWORD_RESET_MAX_AGE_SECONDS = int(os.environ.get("PASSWORD_RESET_MAX_AGE_SECONDS", "3600"))
    LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("LOGIN_THROTTLE_WINDOW_SECONDS", "900"))
    LOGIN_THROTTLE_PER_ACCOUNT = int(os.environ.get("LOGIN_THROTTLE_PER_ACCOUNT", "5"))
    LOGIN_THROTTLE_PER_ADDRESS = int(os.environ.get("LOGIN_THROTTLE_PER_ADDRESS", "20"))
    TWO_FACTOR_STEP_SECONDS = int(os.environ.get("TWO_FACTOR_STEP_SECONDS", "300"))  # time for the code
    # A login session ends this many hours after the login at the latest (the session rows, accounts/models.py
    # LoginSession); what a person was typing when it ended is kept for the browser (foerdercall/parking).
    SESSION_LIFETIME_HOURS = float(os.environ.get("SESSION_LIFETIME_HOURS", "12"))
    # Roles (comma list, e.g. "official,admin") whose people must use the second factor: without one set up they
    # are sent to its set-up page after the password and can do nothing else. Empty: optional for everyone
    # (the embedded default); docs/production.md sets "official,admin".
    REQUIRE_TWO_FACTOR_ROLES = os.environ.get("REQUIRE_TWO_FACTOR_ROLES", "")
    # The key of the TOTP secrets at rest (AES-256-GCM, accounts/secrets.py): 32 random bytes, URL-safe base64.
    # Empty: derived from SECRET_KEY with HKDF (info "foerdercall totp"). Changing it makes stored secrets
    # unreadable (the login says so; an admin resets the person's two-factor login).
    TOTP_ENCRYPTION_KEY = os.environ.get("TOTP_ENCRYPTION_KEY", "")
    # The audit trail's anchor outside the database (foerdercall/audit/checkpoints.py). AUDIT_KEY: the HMAC key
    # that signs every audit event, the chain's head and every checkpoint; several keys separated by commas: the
    # first signs, every one verifies (a rotation keeps the old key behind the new one). Empty: the embedded
    # default (no DATABASE_URL) keeps a random key in instance/audit_key (mode 0600); otherwise it is derived
    # from SECRET_KEY with HKDF-SHA256 (info "foerdercall audit"), so changing SECRET_KEY without setting
    # AUDIT_KEY makes the old MACs fail to verify. It must never be stored in the database.
    AUDIT_KEY = os.environ.get("AUDIT_KEY", "")
    # Signed checkpoints (seq, hash, time, MAC) are appended here by the sweep when the chain's head moved, and
    # logged at INFO on the logger "foerdercall.audit". Empty: instance/audit-checkpoints.log.
    AUDIT_CHECKPOINT_FILE = os.environ.get("AUDIT_CHECKPOINT_FILE", "")
    # An address (e.g. the audit office) that gets the day's first checkpoint by mail, once a day; empty: none.
    AUDIT_CHECKPOINT_MAIL = os.environ.get("AUDIT_CHECKPOINT_MAIL", "")
    # Reverse proxies in front of the app (nginx: 1): the client's address (login throttling per address) and
    # scheme come from their X-Forwarded-* headers. 0: the direct peer is the client.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Password hashing (argon2id): OWASP's recommended minimum (19 MiB, 2 passes, 1 lane) costs ~24 ms of CPU
    # per login here (argon2-cffi's own defaults ~160-390 ms). Hashes made with other parameters are
    # rehashed with these at the next successful login.
    PASSWORD_HASH_TIME_COST = int(os.environ.get("PASSWORD_HASH_TIME_COST", "2"))
    PASSWORD_HASH_MEMORY_KIB = int(os.environ.get("PASSWORD_HASH_MEMORY_KIB", "19456"))
    PASSWORD_HASH_PARALLELISM = int(os.environ.get("PASSWORD_HASH_PARALLELISM", "1"))
    # Admission control (foerdercall/admission.py), per web process: at most ADMISSION_MAX_REQUESTS requests in
    # the app at once (0: off, the embedded default); forms posted by logged-in people may use
    # ADMISSION_POST_RESERVE more, new logins only ADMISSION_MAX_LOGINS. Past that: 503/429 with Retry-After.
    # Bodies are read before a slot is taken, at most ADMISSION_MAX_UPLOADS at once, with a timeout between
    # packets; with a proxy's X-Request-Start, requests older than ADMISSION_MAX_QUEUE_SECONDS are shed.
    ADMISSION_MAX_REQUESTS = int(os.environ.get("ADMISSION_MAX_REQUESTS", "0"))
    ADMISSION_MAX_LOGINS = int(os.environ.get("ADMISSION_MAX_LOGINS", "0"))  # 0: a quarter of the bound
    ADMISSION_POST_RESERVE = int(os.environ.get("ADMISSION_POST_RESERVE", "2"))
    ADMISSION_MAX_UPLOADS = int(os.environ.get("ADMISSION_MAX_UPLOADS", "0"))  # 0: the bound
    ADMISSION_BODY_TIMEOUT_SECONDS = float(os.environ.get("ADMISSION_BODY_TIMEOUT_SECONDS", "30"))
    ADMISSION_MAX_QUEUE_SECONDS = float(os.environ.get("ADMISSION_MAX_QUEUE_SECONDS", "0"))
    ADMISSION_RETRY_AFTER_SECONDS = int(os.environ.get("ADMISSION_RETRY_AFTER_SECONDS", "5"))
    # a login past ADMISSION_MAX_LOGINS waits up to this long for a slot before its 429 (0: refused at once)
    ADMISSION_LOGIN_WAIT_SECONDS = float(os.environ.get("ADMISSION_LOGIN_WAIT_SECONDS", "0"))
    # new logins (and login pages) are refused with 429 while nine in ten of the last second's other requests
    # took longer than this in the app (0: off; see foerdercall/admission.py, "The login gate")
    ADMISSION_LOGIN_GATE_SECONDS = float(os.environ.get("ADMISSION_LOGIN_GATE_SECONDS", "0"))
