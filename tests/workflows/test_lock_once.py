"""Locking a row once per transaction (issue 5, the deadline surge): save, upload and submit in one request
each lock the proposal; the second and third lock must not read and lock it again, yet the row must stay
locked for the whole transaction, and a lock lost with a rolled-back savepoint must be taken again."""

from __future__ import annotations

import io
import re

import pytest
from conftest import PDF, fill_draft, login
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from foerdercall.extensions import db
from foerdercall.locking import lock
from foerdercall.models import AuditEvent, OutboxMail, Proposal
from foerdercall.proposals.operations import start_draft


class Statements:
    """The SQL statements the app's engine runs while it is active."""

    def __init__(self):
        self.seen: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._add)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._add)

    def _add(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(" ".join(statement.split()))

    def reading(self, table: str) -> list[str]:
        """SELECTs of the rows of ``table`` itself (not of tables that only refer to it)."""
        return [s for s in self.seen if re.match(rf"SELECT {table}\.id\b.* FROM {table}\b", s)]


def other_connection_can_lock(app, proposal_id: int) -> bool:
    """Whether a second connection could lock the proposal's row right now (without waiting for it)."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as conn:
            try:
                conn.execute(
                    text("SELECT id FROM proposals WHERE id = :id FOR NO KEY UPDATE NOWAIT"),
                    {"id": proposal_id},
                )
                return True
            except OperationalError:  # LockNotAvailable: somebody holds the row
                return False
            finally:
                conn.rollback()
    finally:
        engine.dispose()


@pytest.fixture
def draft(app, world):
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    return p


def test_a_second_lock_in_the_same_transaction_reads_nothing_again(app, draft):
    p = lock(draft)
    with Statements() as sql:
        assert lock(p) is p
        assert lock(draft) is p
    assert sql.reading("proposals") == []
    db.session.commit()
    assert p.state == "draft"  # loaded again after the commit, before counting
    with Statements() as sql:  # a new transaction locks (and reads) again
        lock(p)
    assert len(sql.reading("proposals")) == 1
    db.session.rollback()
    assert p.state == "draft"
    with Statements() as sql:  # and after a rollback, too
        lock(p)
    assert len(sql.reading("proposals")) == 1
    db.session.rollback()


def test_a_lock_taken_in_a_savepoint_that_was_rolled_back_is_taken_again(app, draft):
    savepoint = db.session.begin_nested()
    lock(draft)
    savepoint.rollback()
    assert draft.state == "draft"
    with Statements() as sql:
        lock(draft)
    assert len(sql.reading("proposals")) == 1
    db.session.rollback()


def test_a_lock_taken_in_a_released_savepoint_is_kept(app, draft):
    with db.session.begin_nested():
        lock(draft)
    with Statements() as sql:
        lock(draft)
    assert sql.reading("proposals") == []
    db.session.rollback()


def test_the_row_stays_locked_until_the_commit_though_it_is_locked_only_once(app, backend, world):
    if backend != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    assert other_connection_can_lock(app, p.id)
    lock(p)
    lock(p)
    assert not other_connection_can_lock(app, p.id)
    db.session.commit()
    assert other_connection_can_lock(app, p.id)


def test_after_a_savepoint_rollback_released_the_row_a_new_lock_really_locks_it(app, backend, world):
    """PostgreSQL lets go of a row locked only inside a savepoint that is rolled back: the next lock() in the
    transaction must lock it again instead of trusting its memory."""
    if backend != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    p = start_draft(world.call, world.applicant)
    db.session.commit()
    savepoint = db.session.begin_nested()
    lock(p)
    assert not other_connection_can_lock(app, p.id)
    savepoint.rollback()
    assert other_connection_can_lock(app, p.id)  # PostgreSQL released it with the savepoint
    lock(p)
    assert not other_connection_can_lock(app, p.id)
    db.session.rollback()


def test_saving_uploading_and_submitting_in_one_post_reads_the_proposal_and_its_call_once(app, world, clock):
    """The deadline surge: the form's final post saves the text, stores the offer PDF and submits, and still
    reads (and locks) the proposal once and the call's required attachments once; the applicant gets the
    same result as before: submitted, file number, receipt, audit trail."""
    p = start_draft(world.call, world.applicant)
    fill_draft(p, world.applicant)
    db.session.commit()
    client = app.test_client()
    login(client, "app@x.test")
    pid = p.id
    with Statements() as sql:
        resp = client.post(
            f"/proposals/{pid}/edit",
            data={
                "title": "Netzwerk Plagwitz",
                "summary": "Kurz",
                "description": "Konzept",
                "work_plan": "Plan",
                "team": "Team",
                "leipzig_relation": "Leipzig",
                "field_of_action": "networks",
                "requested_amount": "10000,00",
                "kind": "other",
                "action": "submit",
                "file": (io.BytesIO(PDF), "nachtrag.pdf"),
            },
            content_type="multipart/form-data",
        )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/proposals/{p.id}")
    assert len(sql.reading("proposals")) == 1, "\n".join(s[-150:] for s in sql.seen)
    assert len(sql.reading("calls")) <= 2  # the call, and the call locked for the file number
    assert not [
        s for s in sql.seen if s.startswith("SELECT outbox_mails.id FROM")
    ]  # no look-up before the insert
    db.session.expire_all()
    p = db.session.get(Proposal, p.id)
    assert p.state == "submitted" and p.file_number == "KW26-0001"
    assert "nachtrag.pdf" in [a.filename for a in p.attachments]
    actions = db.session.scalars(
        db.select(AuditEvent.action).where(AuditEvent.proposal_id == p.id).order_by(AuditEvent.id)
    ).all()
    assert actions[-2:] == ["add_attachment", "submit"]
    receipts = db.session.scalars(db.select(OutboxMail).where(OutboxMail.proposal_id == p.id)).all()
    assert [m.kind for m in receipts] == ["receipt"] and "KW26-0001" in receipts[0].subject


def test_the_same_mail_twice_is_written_once(app, world):
    from foerdercall.mail.operations import queue_mail

    first = queue_mail("call_corrected", world.applicant, "k", call=world.call, reason="x")
    assert first is not None and first.id is not None and first.status == "pending"
    assert queue_mail("call_corrected", world.applicant, "k", call=world.call, reason="x") is None
    db.session.commit()
    assert queue_mail("call_corrected", world.applicant, "k", call=world.call, reason="y") is None
    db.session.commit()
    rows = db.session.scalars(
        db.select(OutboxMail).where(OutboxMail.dedup_key.like("call_corrected:k:%"))
    ).all()
    assert [m.id for m in rows] == [first.id]


def test_what_the_transaction_wrote_by_foreign_key_is_seen_after_the_second_lock(app, world, clock):
    """The reload of the first lock() also made the proposal forget its loaded relationships; the second
    lock() must do the same, or an attachment written since (by its foreign key) would be missing."""
    from foerdercall.models import Attachment

    p = lock(start_draft(world.call, world.applicant))
    assert p.attachments == []
    db.session.add(
        Attachment(
            proposal_id=p.id,
            kind="other",
            filename="a.pdf",
            storage_name="a.pdf",
            size=1,
            sha256="0" * 64,
            content_type="application/pdf",
            uploaded_by_id=world.applicant.id,
            uploaded_at=clock(),
        )
    )
    db.session.flush()
    assert [a.filename for a in lock(p).attachments] == ["a.pdf"]
    db.session.rollback()


def test_the_same_mail_queued_by_two_transactions_at_once_is_written_once(app, backend, world):
    """Without the look-up and the savepoint: the second transaction waits for the first one's row and then
    writes nothing, without an error (the first one's mail is the one that goes out)."""
    import threading
    import time

    from foerdercall.accounts.models import User
    from foerdercall.calls.models import Call
    from foerdercall.mail.operations import queue_mail

    if backend != "postgresql":
        pytest.skip("two writers at once: PostgreSQL")
    user_id, call_id = world.applicant.id, world.call.id
    db.session.commit()
    first_written = threading.Event()
    results: dict[str, object] = {}

    def queue(name: str) -> None:
        with app.app_context():
            try:
                if name == "second":
                    first_written.wait(10)
                mail = queue_mail(
                    "call_corrected",
                    db.session.get(User, user_id),
                    "at-once",
                    call=db.session.get(Call, call_id),
                    reason="x",
                )
                results[name] = mail is not None
                if name == "first":
                    first_written.set()
                    time.sleep(0.5)  # the second one is waiting for this row now
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                results[name] = repr(exc)
                first_written.set()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=queue, args=(name,)) for name in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {"first": True, "second": False}
    assert (
        len(
            db.session.scalars(
                db.select(OutboxMail).where(OutboxMail.dedup_key.like("call_corrected:at-once:%"))
            ).all()
        )
        == 1
    )
