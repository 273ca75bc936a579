"""Backup and restore (issue 18): the database and the uploaded files into one tar file and back into a fresh
database and folder; after the restore every table holds the same rows, every attachment's file matches its
hash and the audit chain holds. On PostgreSQL (pg_dump, pg_restore) and on SQLite (the embedded default)."""

from __future__ import annotations

import io

import pytest
from conftest import PDF, _config, fill_draft, own_pg_database
from sqlalchemy import func, select, text

from foerdercall import create_app
from foerdercall.cli import make_cli
from foerdercall.extensions import db
from foerdercall.proposals.models import Attachment
from foerdercall.proposals.operations import add_attachment, start_draft
from foerdercall.workflow.engine import fire


def _contents() -> dict[str, list]:
    """Every table's rows, in order: what the restore must bring back."""
    found = {}
    for table in db.metadata.sorted_tables:
        order = [c for c in table.primary_key.columns] or list(table.columns)
        found[table.name] = [tuple(r) for r in db.session.execute(select(table).order_by(*order))]
    return found


@pytest.fixture
def target(backend, tmp_path):
    """An empty database of the test's own, and an empty instance for the restore."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'fc.sqlite'}"
        return
    yield from own_pg_database("restore")


def test_a_backup_restored_into_a_fresh_database_holds_the_same_rows_files_and_audit_chain(
    app, world, tmp_path, target
):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    for i in range(3):
        add_attachment(p, world.applicant, "other", io.BytesIO(PDF + f"%{i}\n".encode()), f"anlage-{i}.pdf")
    fire(p, "submit", world.applicant)
    db.session.commit()
    before = _contents()
    assert len(before["attachments"]) == 5 and len(before["audit_events"]) > 5  # fill_draft adds two
    runner = app.test_cli_runner()
    archive = tmp_path / "backup.tar"
    made = runner.invoke(make_cli(), ["backup", str(archive)])
    assert made.exit_code == 0, made.output
    assert "5 file(s)" in made.output and "5 attachment(s)" in made.output
    assert not (tmp_path / "backup.tar.part").exists()

    restored_dir = tmp_path / "restored"
    config = _config(restored_dir, target)
    config["SECRET_KEY"] = app.config["SECRET_KEY"]  # the keys come from the configuration, not the backup
    config["AUDIT_KEY"] = app.config["AUDIT_KEY"]
    fresh = create_app(config)
    db.session.rollback()  # the test's own reads end
    with fresh.app_context():  # the command runs in the app whose context is there
        done = fresh.test_cli_runner().invoke(make_cli(), ["restore", str(archive)])
        assert done.exit_code == 0, done.output
        assert "5 of 5 attachment(s) match their hash" in done.output
        assert "The audit chain holds" in done.output
        assert _contents() == before
        for a in db.session.scalars(select(Attachment)):
            assert (restored_dir / "uploads" / a.storage_name).read_bytes().startswith(b"%PDF")
        verify = fresh.test_cli_runner().invoke(make_cli(), ["audit", "verify"])
        assert verify.exit_code == 0 and "the chain holds" in verify.output
        # a second restore into what is no longer empty is refused with the reason, and changes nothing
        db.session.rollback()
        again = fresh.test_cli_runner().invoke(make_cli(), ["restore", str(archive)])
        assert again.exit_code == 1 and "is not empty: restore into a fresh one" in again.output
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 5
        db.session.remove()
        db.engine.dispose()


def test_a_restore_finds_a_changed_file_and_a_broken_audit_chain(app, world, tmp_path, target):
    p = fill_draft(start_draft(world.call, world.applicant), world.applicant)
    a = add_attachment(p, world.applicant, "other", io.BytesIO(PDF), "anlage.pdf")
    db.session.commit()
    name = a.storage_name
    (tmp_path / "uploads" / name).write_bytes(PDF + b"% changed on disk\n")  # the file went wrong
    db.session.execute(text("UPDATE audit_events SET reason = 'geändert' WHERE id = 1"))  # and the trail
    db.session.commit()
    archive = tmp_path / "backup.tar"
    assert app.test_cli_runner().invoke(make_cli(), ["backup", str(archive)]).exit_code == 0
    config = _config(tmp_path / "restored", target)
    config.update(SECRET_KEY=app.config["SECRET_KEY"], AUDIT_KEY=app.config["AUDIT_KEY"])
    fresh = create_app(config)
    with fresh.app_context():
        done = fresh.test_cli_runner().invoke(make_cli(), ["restore", str(archive)])
        assert done.exit_code == 1
        assert f"MISSING OR CHANGED: {name}" in done.output
        assert "The audit chain does not hold" in done.output
        db.session.remove()
        db.engine.dispose()


def test_what_is_not_a_backup_is_refused_with_the_reason(app, tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"kein Archiv")
    done = app.test_cli_runner().invoke(make_cli(), ["restore", str(junk)])
    assert done.exit_code == 1 and "is not a backup of foerdercall" in done.output
