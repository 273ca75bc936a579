"""The bare path of a deadline-surge submission, for ``bench/surge.py --app bare``: the floor under foerdercall.

A WSGI app of its own (werkzeug and psycopg, no Flask, no ORM, no templates, no audit chain, no mail) that
serves the same URLs the surge client uses, on the same database that ``bench/surge.py`` builds, and does only
what any submission must do:

- ``GET /login``: a page with a CSRF token (an HMAC of a random value in a cookie);
- ``POST /login``: checks the token, reads the user by e-mail, verifies the argon2 hash (the parameters the
  hash was made with: the app's), sets a signed session cookie, 302;
- ``GET /proposals/<id>/edit``: checks the session, reads the proposal (the applicant's own, a draft), a
  small form with a token;
- ``POST /proposals/<id>/edit``: checks session and token, parses the multipart body (werkzeug), on "save"
  updates the draft; on "submit" writes the PDF to disk (checking its magic, hashing it as it is written),
  then in one transaction sets the proposal submitted with a file number and inserts the attachment and one
  audit row, 302 to the proposal;
- the officials' pages: a session check and a count.

Its capacity on this machine is what a complete submission costs without the app's own work; the difference to
``--app foerdercall`` is what the app adds. Not a product, only a measuring stick.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import pathlib
import queue
import re
import secrets
import threading

import nacl.exceptions
import nacl.pwhash.argon2id
import psycopg
from werkzeug.wrappers import Request, Response

SECRET = os.environ.get("SECRET_KEY", "surge-secret").encode()
UPLOAD_DIR = pathlib.Path(os.environ.get("UPLOAD_DIR", "/tmp/fc-bare-uploads"))
DSN = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
POOL_SIZE = int(os.environ.get("BARE_POOL", "8"))
EDIT = re.compile(r"^/proposals/(\d+)/edit$")
CALL_PAGE = re.compile(r"^/calls/(\d+)(/proposals|/dashboard)?$")
FIELDS = (
    "title",
    "summary",
    "goals",
    "target_group",
    "work_plan",
    "budget_plan",
    "sustainability",
    "field_of_action",
    "requested_amount",
)


class Pool:
    """A fixed set of connections per process (as SQLAlchemy's pool, without its bookkeeping)."""

    def __init__(self, size: int) -> None:
        self.free: queue.LifoQueue = queue.LifoQueue()
        self.size, self.made, self.lock = size, 0, threading.Lock()

    def get(self) -> psycopg.Connection:
        try:
            return self.free.get_nowait()
        except queue.Empty:
            with self.lock:
                if self.made < self.size:
                    self.made += 1
                    return psycopg.connect(DSN)
            return self.free.get()

    def put(self, conn: psycopg.Connection) -> None:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.rollback()
        self.free.put(conn)


POOL = Pool(POOL_SIZE)


def sign(value: str) -> str:
    return value + "." + hmac.new(SECRET, value.encode(), hashlib.sha256).hexdigest()[:32]


def unsign(signed: str | None) -> str | None:
    if not signed or "." not in signed:
        return None
    value = signed.rsplit(".", 1)[0]
    return value if hmac.compare_digest(sign(value), signed) else None


def token_for(nonce: str) -> str:
    return hmac.new(SECRET, b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()


def page(body: str, status: int = 200) -> Response:
    return Response(
        "<!doctype html><html lang=de><title>bare</title>" + body,
        status,
        content_type="text/html; charset=utf-8",
    )


def redirect(to: str) -> Response:
    return Response("", 302, headers={"Location": to})


def form_page(nonce: str, action: str, inner: str = "") -> str:
    return (
        f'<form method=post action="{action}"><input type=hidden name="csrf_token" value="{token_for(nonce)}">'
        f"{inner}<button>OK</button></form>"
    )


def session_of(req: Request) -> tuple[int, str] | None:
    """(user id, nonce) of a signed session cookie."""
    value = unsign(req.cookies.get("s"))
    if not value:
        return None
    uid, nonce = value.split(":", 1)
    return int(uid), nonce


def login(req: Request) -> Response:
    if req.method == "GET":
        nonce = secrets.token_hex(16)
        r = page(form_page(nonce, "/login", "<input name=email><input name=password type=password>"))
        r.set_cookie("b", nonce, httponly=True, samesite="Lax")
        return r
    nonce = req.cookies.get("b", "")
    if not nonce or not hmac.compare_digest(token_for(nonce), req.form.get("csrf_token", "")):
        return page("token", 400)
    conn = POOL.get()
    try:
        row = conn.execute(
            "SELECT id, password_hash FROM users WHERE email = %s AND active",
            (req.form.get("email", "").lower(),),
        ).fetchone()
        conn.rollback()
    finally:
        POOL.put(conn)
    try:
        # libsodium, as the app (foerdercall.accounts.passwords); the parameters are read from the stored hash
        ok = row is not None and nacl.pwhash.argon2id.verify(
            row[1].encode(), req.form.get("password", "").encode()
        )
    except nacl.exceptions.InvalidkeyError:
        ok = False
    if not ok:
        return page("wrong", 200)
    r = redirect("/")
    r.set_cookie("s", sign(f"{row[0]}:{secrets.token_hex(16)}"), httponly=True, samesite="Lax")
    return r


def edit(req: Request, pid: int, who: tuple[int, str]) -> Response:
    uid, nonce = who
    if req.method == "GET":
        conn = POOL.get()
        try:
            row = conn.execute(
                "SELECT title, state FROM proposals WHERE id = %s AND applicant_id = %s", (pid, uid)
            ).fetchone()
            conn.rollback()
        finally:
            POOL.put(conn)
        if row is None:
            return page("not found", 404)
        return page(f"<h1>{row[0]}</h1>" + form_page(nonce, req.path, "<input type=file name=file>"))
    if not hmac.compare_digest(token_for(nonce), req.form.get("csrf_token", "")):
        return page("token", 400)
    fields = {k: req.form.get(k, "") for k in FIELDS}
    action = req.form.get("action")
    stored = None
    if action == "submit":
        upload = req.files.get("file")
        if upload is None:
            return page("file missing", 400)
        stored = store(upload)
    conn = POOL.get()
    try:
        with conn.transaction():
            row = conn.execute(
                "SELECT state, call_id FROM proposals WHERE id = %s AND applicant_id = %s FOR UPDATE",
                (pid, uid),
            ).fetchone()
            if row is None or row[0] != "draft":
                raise LookupError
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            amount = int(
                round(float(fields["requested_amount"].replace(".", "").replace(",", ".") or 0) * 100)
            )
            if action == "submit":
                conn.execute(
                    "UPDATE proposals SET title=%s, summary=%s, requested_amount_cents=%s, state='submitted', "
                    "submitted_at=%s, file_number='BARE-' || id, updated_at=%s, row_version=row_version+1 "
                    "WHERE id=%s",
                    (fields["title"], fields["summary"], amount, now, now, pid),
                )
                storage, size, sha = stored
                conn.execute(
                    "INSERT INTO attachments (proposal_id, kind, filename, storage_name, content_type, size, "
                    "sha256, uploaded_by_id, uploaded_at) VALUES (%s,'offer','angebot.pdf',%s,'application/pdf',"
                    "%s,%s,%s,%s)",
                    (pid, storage, size, sha, uid, now),
                )
                conn.execute(
                    "INSERT INTO audit_events (at, actor_id, actor_name, action, object_type, object_id, call_id, "
                    "proposal_id, from_state, to_state, reason, data) VALUES (%s,%s,'','submit','proposal',%s,%s,"
                    "%s,'draft','submitted','','{}')",
                    (now, uid, pid, row[1], pid),
                )
            else:
                conn.execute(
                    "UPDATE proposals SET title=%s, summary=%s, requested_amount_cents=%s, "
                    "updated_at=%s, row_version=row_version+1 WHERE id=%s",
                    (fields["title"], fields["summary"], amount, now, pid),
                )
    except LookupError:
        if stored:
            (UPLOAD_DIR / stored[0]).unlink(missing_ok=True)
        return redirect(req.path)
    finally:
        POOL.put(conn)
    return redirect(f"/proposals/{pid}" if action == "submit" else req.path)


def store(upload) -> tuple[str, int, str]:
    head = upload.stream.read(5)
    if head != b"%PDF-":
        raise ValueError("not a PDF")
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + ".pdf"
    digest, size = hashlib.sha256(head), len(head)
    with open(UPLOAD_DIR / (name + ".part"), "wb") as out:
        out.write(head)
        while chunk := upload.stream.read(64 * 1024):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    os.replace(UPLOAD_DIR / (name + ".part"), UPLOAD_DIR / name)
    return name, size, digest.hexdigest()


def official(call_id: int) -> Response:
    conn = POOL.get()
    try:
        n = conn.execute(
            "SELECT count(*) FROM proposals WHERE call_id = %s AND state = 'submitted'", (call_id,)
        ).fetchone()[0]
        conn.rollback()
    finally:
        POOL.put(conn)
    return page(f"<p>{n} submitted</p>")


@Request.application
def app(req: Request) -> Response:
    if req.path == "/login":
        return login(req)
    who = session_of(req)
    if who is None:
        return redirect("/login")
    if m := EDIT.match(req.path):
        return edit(req, int(m.group(1)), who)
    if m := CALL_PAGE.match(req.path):
        return official(int(m.group(1)))
    if req.path == "/" or req.path.startswith("/proposals/"):
        return page("ok")
    return page("not found", 404)
