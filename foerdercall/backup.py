"""Backup and restore: the database and the uploaded files, consistent with each other, in one tar file.

``backup``: the uploaded files first, then the database in one snapshot (PostgreSQL: ``pg_dump`` of a
snapshot exported by a REPEATABLE READ transaction, which also lists the attachments of that snapshot;
SQLite: the online backup API), then the files of that snapshot that were uploaded meanwhile. Every file's
SHA-256 is in the manifest, and every attachment of the snapshot has its file (or the backup says which one
was deleted before it could be read). The audit checkpoints file goes along. Keys (SECRET_KEY, AUDIT_KEY)
never do: keep them apart, as the configuration.

``restore``: into an empty database (PostgreSQL: ``pg_restore``; SQLite: the file) and an empty upload folder;
then every attachment's file is checked against its hash, and the audit chain is verified.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import create_engine, inspect, make_url, text

from .audit.checkpoints import verify_chain
from .extensions import db
from .timeutil import now

FORMAT = 1
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass
class BackupReport:
    path: Path
    files: int = 0
    bytes: int = 0
    attachments: int = 0
    missing: list[str] = field(default_factory=list)  # attachments whose file was deleted before it was read


@dataclass
class RestoreReport:
    files: int = 0
    attachments: int = 0
    mismatched: list[str] = field(default_factory=list)  # attachments whose file is missing or differs
    audit_events: int = 0
    audit_problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.mismatched and not self.audit_problem


def _tool(name: str) -> str:
    """A PostgreSQL client program: on PATH, else the newest of /usr/lib/postgresql/*/bin."""
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client programs (postgresql-client)")
    return found


def _libpq_url() -> str:
    """The database as libpq (pg_dump, pg_restore) takes it: without the SQLAlchemy driver name."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _sqlite_path() -> Path:
    database = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).database
    if not database or database == ":memory:":
        raise BackupError("the SQLite database is in memory: nothing to back up")
    return Path(database)


def _hashed(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(p for p in folder.rglob("*") if p.is_file())


# --- backup --------------------------------------------------------------------------------------------------


def backup(target: Path) -> BackupReport:
    """Write the backup to ``target`` (a tar file, written aside and renamed when complete)."""
    target = Path(target)
    part = target.with_name(target.name + ".part")
    report = BackupReport(target)
    uploads = _upload_dir()
    hashes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="foerdercall-backup-") as tmp, tarfile.open(part, "w") as tar:

        def add_file(path: Path) -> None:
            name = path.relative_to(uploads).as_posix()
            hashes[name], size = _hashed(path)
            tar.add(path, arcname=f"files/{name}", recursive=False)
            report.files += 1
            report.bytes += size

        for path in _files(uploads):  # 1. the files (a file deleted while we walk: the snapshot decides)
            try:
                add_file(path)
            except FileNotFoundError:
                continue
        dump = Path(tmp) / "database"  # 2. the database, in one snapshot, with its attachments' names
        if db.engine.dialect.name == "postgresql":
            names, revision = _dump_postgresql(dump)
            tar.add(dump, arcname="database.pgdump")
        else:
            names, revision = _dump_sqlite(dump)
            tar.add(dump, arcname="database.sqlite")
        report.attachments = len(names)
        for name in names:  # 3. what was uploaded between the walk and the snapshot
            if name not in hashes:
                try:
                    add_file(uploads / name)
                except FileNotFoundError:
                    report.missing.append(name)
        checkpoints = Path(current_app.config.get("AUDIT_CHECKPOINT_FILE") or "")
        if checkpoints.is_file():
            tar.add(checkpoints, arcname="audit-checkpoints.log")
        manifest = {
            "format": FORMAT,
            "created_at": now().isoformat(),
            "database": db.engine.dialect.name,
            "revision": revision,
            "attachments": report.attachments,
            "missing": report.missing,
            "files": hashes,
        }
        data = json.dumps(manifest, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size, info.mtime = len(data), int(now().timestamp())
        tar.addfile(info, io.BytesIO(data))
    os.replace(part, target)
    return report


def _dump_postgresql(dump: Path) -> tuple[list[str], str]:
    """pg_dump of a snapshot that this transaction exports; the attachments and revision of that snapshot."""
    engine = create_engine(current_app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            names = list(conn.scalars(text("SELECT storage_name FROM attachments ORDER BY id")))
            revision = conn.scalar(text("SELECT version_num FROM alembic_version")) or ""
            command = [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={dump}",
                f"--dbname={_libpq_url()}",
            ]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
            conn.rollback()
    finally:
        engine.dispose()
    return names, revision


def _dump_sqlite(dump: Path) -> tuple[list[str], str]:
    source = sqlite3.connect(_sqlite_path())
    copy = sqlite3.connect(dump)
    try:
        source.backup(copy)  # the online backup API: a consistent copy while others write
        names = [row[0] for row in copy.execute("SELECT storage_name FROM attachments ORDER BY id")]
        revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    finally:
        copy.close()
        source.close()
    return names, revision[0] if revision else ""


# --- restore -------------------------------------------------------------------------------------------------


def restore(source: Path) -> RestoreReport:
    """Restore a backup into the configured database and upload folder, both empty; then check it."""
    source = Path(source)
    if not tarfile.is_tarfile(source):
        raise BackupError(f"{source} is not a backup of foerdercall (not a tar file)")
    with tarfile.open(source) as tar:
        try:
            manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]  # a regular member
        except KeyError:
            raise BackupError(f"{source} has no manifest: not a backup of foerdercall") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"backup format {manifest.get('format')!r} is not known to this version")
        dialect = db.engine.dialect.name
        if manifest["database"] != dialect:
            raise BackupError(
                f"the backup is of a {manifest['database']} database, the configured one is {dialect}"
            )
        if _has_tables():
            raise BackupError("the configured database is not empty: restore into a fresh one")
        uploads = _upload_dir()
        if any(_files(uploads)):
            raise BackupError(f"the upload folder {uploads} is not empty: restore into a fresh one")
        db.session.remove()
        db.engine.dispose()
        with tempfile.TemporaryDirectory(prefix="foerdercall-restore-") as tmp:
            member = "database.pgdump" if dialect == "postgresql" else "database.sqlite"
            tar.extract(member, tmp, filter="data")
            if dialect == "postgresql":
                _restore_postgresql(Path(tmp) / member)
            else:
                path = _sqlite_path()
                path.parent.mkdir(parents=True, exist_ok=True)
                for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm")):
                    leftover.unlink(missing_ok=True)
                shutil.copyfile(Path(tmp) / member, path)
        report = RestoreReport()
        uploads.mkdir(parents=True, exist_ok=True)
        for info in tar.getmembers():
            if info.isfile() and info.name.startswith("files/"):
                tar.extract(info, uploads.parent / "_restoring", filter="data")
                report.files += 1
        staged = uploads.parent / "_restoring" / "files"
        if staged.is_dir():
            for path in sorted(staged.rglob("*")):
                if path.is_file():
                    dest = uploads / path.relative_to(staged)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, dest)
            shutil.rmtree(uploads.parent / "_restoring")
        checkpoints = Path(current_app.config.get("AUDIT_CHECKPOINT_FILE") or "")
        if checkpoints and not checkpoints.exists() and "audit-checkpoints.log" in tar.getnames():
            checkpoints.parent.mkdir(parents=True, exist_ok=True)
            checkpoints.write_bytes(tar.extractfile("audit-checkpoints.log").read())  # type: ignore[union-attr]  # a regular member
    _check(report)
    return report


def _has_tables() -> bool:
    if db.engine.dialect.name == "sqlite" and not _sqlite_path().exists():
        return False  # not even the file: asking would make it
    return bool(inspect(db.engine).get_table_names())


def _restore_postgresql(dump: Path) -> None:
    command = [
        _tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={_libpq_url()}",
        str(dump),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


def _check(report: RestoreReport) -> None:
    """Every attachment's file against its hash; the audit chain."""
    uploads = _upload_dir()
    rows = db.session.execute(text("SELECT storage_name, sha256 FROM attachments ORDER BY id")).all()
    report.attachments = len(rows)
    for name, sha256 in rows:
        path = uploads / name
        if not path.is_file() or _hashed(path)[0] != sha256:
            report.mismatched.append(name)
    chain = verify_chain()
    report.audit_events = chain.events
    report.audit_problem = chain.problem or "; ".join(chain.checkpoint_problems)
    db.session.rollback()
