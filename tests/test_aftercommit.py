"""The after-commit queue (foerdercall/aftercommit.py): what a transaction queued runs once after its
outermost commit, never after a rollback, never for a savepoint that was rolled back; a failing callback is
logged and the next one still runs. On SQLite and PostgreSQL (the `app` fixture)."""

from __future__ import annotations

import logging

import pytest
from conftest import fill_draft
from sqlalchemy import func, select

from foerdercall import aftercommit
from foerdercall.aftercommit import on_commit, on_rollback
from foerdercall.errors import ActionRefused
from foerdercall.extensions import db
from foerdercall.mail.models import OutboxMail
from foerdercall.mail.operations import queue_mail
from foerdercall.proposals.models import Attachment
from foerdercall.proposals.operations import attachment_path, remove_attachment, start_draft


@pytest.fixture
def ran(app):
    return []


def test_runs_once_after_the_commit_not_before(app, ran):
    on_commit(ran.append, "a")
    db.session.flush()
    assert ran == []
    db.session.commit()
    assert ran == ["a"]
    db.session.commit()
    assert ran == ["a"]  # once


def test_a_rollback_drops_what_was_queued(app, ran):
    on_commit(ran.append, "a")
    db.session.rollback()
    db.session.commit()
    assert ran == []


def test_a_rolled_back_savepoint_drops_its_entries_and_keeps_the_others(app, ran):
    on_commit(ran.append, "before")
    with pytest.raises(ActionRefused), db.session.begin_nested():
        on_commit(ran.append, "refused")
        with db.session.begin_nested():
            on_commit(ran.append, "inner, released")
        raise ActionRefused("nein")
    with db.session.begin_nested():
        on_commit(ran.append, "released")
    assert ran == []  # a savepoint's release is not the commit
    db.session.commit()
    assert ran == ["before", "released"]


def test_a_failing_callback_is_logged_and_the_next_one_runs(app, ran, caplog):
    def broken():
        raise RuntimeError("kaputt")

    on_commit(ran.append, 1)
    on_commit(broken)
    on_commit(ran.append, 2)
    with caplog.at_level(logging.ERROR, logger="foerdercall.aftercommit"):
        db.session.commit()  # the commit itself succeeds
    assert ran == [1, 2]
    assert "broken failed" in caplog.text and "kaputt" in caplog.text


def test_a_kind_gets_the_payloads_of_one_commit_together(app, ran, monkeypatch):
    monkeypatch.setitem(aftercommit.KINDS, "mail", ran.append)
    on_commit("mail", 3)
    on_commit("mail", 1)
    db.session.commit()
    on_commit("mail", 2)
    db.session.commit()
    assert ran == [[3, 1], [2]]


def test_gathered_runs_a_kind_once_for_several_commits(app, ran, monkeypatch):
    monkeypatch.setitem(aftercommit.KINDS, "mail", lambda ids: ran.append(ids) or len(ids))
    with aftercommit.gathered("mail") as mails:
        on_commit("mail", 1)
        db.session.commit()
        on_commit("mail", 2)
        db.session.rollback()
        on_commit("mail", 3)
        db.session.commit()
        assert ran == []
    assert ran == [[1, 3]] and mails.result == 2


def test_a_callback_may_read_and_commit_on_the_same_session(app, world):
    """What the embedded default does after a request: deliver the mail (claim, send, record: commits)."""
    mail = queue_mail("call_corrected", world.applicant, "after", call=world.call, reason="x")

    def write_another():
        queue_mail("call_corrected", world.applicant, "written after", call=world.call, reason="y")
        db.session.commit()

    on_commit(write_another)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(OutboxMail, mail.id).status == "sent"
    assert db.session.scalar(select(func.count()).select_from(OutboxMail)) == 2
    assert db.session.scalars(select(OutboxMail.status)).all() == ["sent", "sent"]


def test_on_rollback_runs_when_its_savepoint_or_transaction_is_rolled_back(app, ran):
    on_rollback(ran.append, "committed")
    db.session.commit()
    with pytest.raises(ActionRefused), db.session.begin_nested():
        on_rollback(ran.append, "savepoint")
        raise ActionRefused("nein")
    assert ran == ["savepoint"]
    on_rollback(ran.append, "transaction")
    db.session.rollback()
    assert ran == ["savepoint", "transaction"]
    on_rollback(ran.append, "closed")
    db.session.close()
    assert ran == ["savepoint", "transaction", "closed"]


def test_a_removed_attachment_whose_savepoint_is_rolled_back_keeps_its_file(app, world):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    db.session.commit()
    a = p.attachments[0]
    path = attachment_path(a)
    with pytest.raises(ActionRefused), db.session.begin_nested():
        remove_attachment(p, world.applicant, a.id)
        raise ActionRefused("doch nicht")
    db.session.commit()
    assert db.session.get(Attachment, a.id) is not None and path.exists()
    remove_attachment(p, world.applicant, a.id)
    assert path.exists()  # until the commit
    db.session.commit()
    assert not path.exists()


def test_a_job_started_in_a_released_savepoint_waits_for_the_commit(app, world, ran, monkeypatch):
    from foerdercall.jobs.operations import start_call_record

    monkeypatch.setitem(aftercommit.KINDS, "job", ran.extend)
    with db.session.begin_nested():
        job = start_call_record(world.call, world.ka)
    assert ran == []
    db.session.commit()
    assert ran == [job.id]
