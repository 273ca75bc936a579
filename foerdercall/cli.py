"""The ``foerdercall`` command: Flask's CLI group plus serve, demo, sweep, worker, beat and workflow show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.serving import run_simple

import workflows
from worker.celery_app import celery_for
from worker.inprocess import start
from worker.sweep import sweep

from . import create_app
from .audit.checkpoints import ChainBroken, checkpoint_file, verify_chain, write_checkpoint
from .audit.mailing import mail_checkpoint
from .backup import BackupError, backup, restore
from .broker import queues as broker_queues
from .broker import visibility_problem
from .demo import load_demo
from .extensions import db
from .mail.operations import retry_failed_mails
from .mail.queries import failed_mails_where
from .timeutil import berlin_to_utc, now
from .urls import serve_public_url


def _upgrade() -> None:
    upgrade(directory=current_app.extensions["migrate"].directory)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Do not run the sweep in this process.")
@with_appcontext
def serve(host: str, port: int, no_worker: bool) -> None:
    """Run the web app, with the worker's sweep in process (embedded default)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its LocalProxy as Flask
    serve_public_url(app, host, port)  # the embedded default's mails link to the address served here
    _upgrade()
    if not no_worker and not app.config.get("BROKER_URL"):
        start(app)
        click.echo(f"Worker: in process (sweep every {app.config['SWEEP_INTERVAL_SECONDS']}s).")
    click.echo(f"Database: {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
    click.echo(f"Outbox:   {app.config['OUTBOX_DIR']}")
    click.echo(f"Open http://{host}:{port}/")
    click.echo(f"Links in mails: {app.config['PUBLIC_URL']}/")

    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@click.command("demo")
@click.option("--serve", "then_serve", is_flag=True, help="Start the web app afterwards.")
@click.option("--password", default="foerdercall-demo", show_default=True)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="With --serve: the address to listen on."
)
@click.option("--port", default=5000, show_default=True, type=int, help="With --serve: the port.")
@click.pass_context
@with_appcontext
def demo(ctx: click.Context, then_serve: bool, password: str, host: str, port: int) -> None:
    """Create the schema and a demo call modelled on Leipzig's 2011 call, with one account per role (a demo that
    is there already is kept as it is)."""
    if then_serve:
        # the demo's mails link there; Flask types its LocalProxy as Flask
        serve_public_url(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]
    _upgrade()
    accounts = load_demo(password)
    click.echo(f"\nDemo accounts (password for all: {password}):")
    for role, email in accounts:
        click.echo(f"  {role:<28} {email}")
    if then_serve:
        ctx.invoke(serve, host=host, port=port)


@click.command("sweep")
@click.option("--now", "now_", default=None, help="Pretend it is this UTC moment (ISO 8601).")
@with_appcontext
def sweep_cmd(now_: str | None) -> None:
    """Run the worker's periodic sweep once (close calls, lapse deadlines, send mail)."""
    at = dt.datetime.fromisoformat(now_).replace(tzinfo=dt.UTC) if now_ else None
    click.echo(sweep(at))


def _celery():
    if not current_app.config.get("BROKER_URL"):
        raise click.ClickException(
            "BROKER_URL is not set (e.g. redis://127.0.0.1:6379/0); without it the "
            "worker runs inside `foerdercall serve`."
        )

    return celery_for(current_app._get_current_object())  # type: ignore[attr-defined]  # Flask types its LocalProxy as Flask


@click.command("worker", context_settings={"ignore_unknown_options": True})
@click.option("--concurrency", "-c", type=int, default=None, help="Processes (default: one per CPU).")
@click.option("--loglevel", "-l", default="info", show_default=True)
@click.option(
    "--queues",
    type=click.Choice(["all", "mail", "schedule"]),
    default="all",
    show_default=True,
    help="mail: deliveries and bulk jobs; schedule: the sweep and the relay (give them a worker of their own).",
)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def worker_cmd(concurrency: int | None, loglevel: str, queues: str, celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker for this app (mail delivery, sweep, relay); further options go to Celery."""
    cfg = current_app.config
    if problem := visibility_problem(cfg):
        raise click.ClickException(problem)
    names = broker_queues(cfg)
    chosen = list(names.values()) if queues == "all" else [names[queues]]
    argv = [
        "worker",
        f"--loglevel={loglevel}",
        f"--queues={','.join(chosen)}",
        *([f"--concurrency={concurrency}"] if concurrency else []),
        *celery_args,
    ]
    _celery().worker_main(argv)


@click.command("beat", context_settings={"ignore_unknown_options": True})
@click.option("--loglevel", "-l", default="info", show_default=True)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def beat_cmd(loglevel: str, celery_args: tuple[str, ...]) -> None:
    """Run the schedule: the sweep every minute, the mail relay every RELAY_INTERVAL_SECONDS (run one)."""
    _celery().start(["beat", f"--loglevel={loglevel}", *celery_args])


@click.group("workflow")
def workflow_group() -> None:
    """The workflows of foerdercall (defined as data in workflows/)."""


@workflow_group.command("show")
@click.option("--format", "fmt", type=click.Choice(["json", "mermaid"]), default="mermaid", show_default=True)
@click.option("--name", type=click.Choice(list(workflows.WORKFLOWS)), default="proposal", show_default=True)
def workflow_show(fmt: str, name: str) -> None:
    module = workflows.WORKFLOWS[name]
    click.echo(workflows.to_json(module) if fmt == "json" else workflows.to_mermaid(module), nl=False)


@click.group("audit")
def audit_group() -> None:
    """The audit trail (append-only, chained by hashes)."""


@audit_group.command("verify")
@click.option(
    "--checkpoints",
    "checkpoint_files",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True),
    help="A further checkpoint file to check against (e.g. the audit office's copy, or log lines); "
    "may be given several times. The configured AUDIT_CHECKPOINT_FILE is always read.",
)
@with_appcontext
def audit_verify(checkpoint_files: tuple[str, ...]) -> None:
    """Recompute the hash chain, check every MAC with the audit key and the chain against the signed
    checkpoints; exit status 1 and the first event that does not match when it does not hold."""
    report = verify_chain(checkpoint_files)
    for problem in report.checkpoint_problems:
        click.echo(f"FORGED CHECKPOINT {problem}", err=True)
    if report.problem:
        where = (
            f"event id {report.broken_event_id} (seq {report.broken_seq})"
            if report.broken_event_id
            else f"seq {report.broken_seq}"
        )
        click.echo(
            f"BROKEN at {where}: {report.problem}. {max(report.events - 1, 0)} event(s) before it hold.",
            err=True,
        )
        raise SystemExit(1)
    if report.checkpoint_problems:
        click.echo(
            f"BROKEN: {len(report.checkpoint_problems)} checkpoint line(s) are not genuine (above); the "
            f"chain itself holds ({report.events} events).",
            err=True,
        )
        raise SystemExit(1)
    click.echo(f"OK: {report.events} audit events, the chain holds (head {report.head[:16]}…).")
    click.echo(
        f"  {report.macs} signed with the audit key (MAC), {report.unsigned} written before MACs existed."
    )
    if report.covered:
        rest = report.events - report.covered
        click.echo(
            f"  {report.covered} covered by the checkpoint of seq {report.covered} ({report.covered_at}; "
            f"{report.checkpoints} genuine checkpoint(s) read)"
            + (f"; the {rest} after it by their MACs only." if rest else ".")
        )
    else:
        click.echo(
            "  No checkpoint covers them yet (none read)"
            + (
                f": the {report.unsigned} events without a MAC are not anchored outside the database."
                if report.unsigned
                else "."
            )
        )


@audit_group.command("checkpoint")
@with_appcontext
def audit_checkpoint() -> None:
    """Write a signed checkpoint of the audit chain now (to AUDIT_CHECKPOINT_FILE and the log)."""
    try:
        at = now()
        cp = write_checkpoint(at)
        if cp is not None:
            mail_checkpoint(cp, at)
    except ChainBroken as exc:
        click.echo(f"No checkpoint written, the chain does not hold: {exc}", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    if cp is None:
        click.echo(
            "No checkpoint written: the chain is empty or its head has not moved since the last one "
            f"in {checkpoint_file()}."
        )
        return
    click.echo(f"Checkpoint written to {checkpoint_file()}: seq {cp.seq}, hash {cp.hash[:16]}…, at {cp.at}.")


@click.group("mail")
def mail_group() -> None:
    """The outbox: failed mails sent again."""


def _leipzig_time(_ctx, _param, value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return berlin_to_utc(dt.datetime.fromisoformat(value).replace(second=0, microsecond=0, tzinfo=None))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: a Leipzig time such as 2026-12-05T14:30 ({exc})") from None


@mail_group.command("retry")
@click.option(
    "--reason", default=None, help="Only mails failed for this reason (as the worker page shows it)."
)
@click.option("--since", callback=_leipzig_time, help="Failed at or after (Leipzig time, 2026-12-05T14:30).")
@click.option("--until", callback=_leipzig_time, help="Failed at or before (Leipzig time).")
@click.option("--dry-run", is_flag=True, help="Only count them.")
@with_appcontext
def mail_retry(
    reason: str | None, since: dt.datetime | None, until: dt.datetime | None, dry_run: bool
) -> None:
    """Send failed mails again (each with an audit event): all, or those of one reason and time."""
    if dry_run:
        n = db.session.scalar(select(func.count()).where(*failed_mails_where(reason, since, until)))
        click.echo(f"{n} failed mail(s) would be sent again.")
        return
    ids = retry_failed_mails(None, reason=reason, failed_from=since, failed_until=until)
    db.session.commit()  # the mails are handed to the worker (or sent here) after the commit
    click.echo(f"{len(ids)} failed mail(s) sent again.")


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_cmd(target: str) -> None:
    """Write the database and the uploaded files, consistent with each other, into one tar file."""
    try:
        report = backup(Path(target))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Backup written to {report.path}: the database, {report.files} file(s) ({report.bytes:,} bytes) for "
        f"{report.attachments} attachment(s)."
    )
    if report.missing:
        click.echo(
            f"{len(report.missing)} attachment(s) were deleted while the backup ran (their records are in it, "
            f"their files not): {', '.join(report.missing[:10])}",
            err=True,
        )


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, exists=True))
@with_appcontext
def restore_cmd(source: str) -> None:
    """Restore a backup into the configured (empty) database and upload folder, then check every file's hash
    and the audit chain; exit status 1 when something does not match."""
    try:
        report = restore(Path(source))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored: the database and {report.files} file(s).")
    click.echo(
        f"  {report.attachments - len(report.mismatched)} of {report.attachments} attachment(s) match their hash."
    )
    for name in report.mismatched[:20]:
        click.echo(f"  MISSING OR CHANGED: {name}", err=True)
    if report.audit_problem:
        click.echo(f"  The audit chain does not hold: {report.audit_problem}", err=True)
    else:
        click.echo(f"  The audit chain holds ({report.audit_events} events).")
    if not report.ok:
        raise SystemExit(1)


def make_cli() -> FlaskGroup:
    cli = FlaskGroup(create_app=create_app, help="foerdercall: municipal funding calls, end to end.")
    for cmd in (
        serve,
        demo,
        sweep_cmd,
        worker_cmd,
        beat_cmd,
        workflow_group,
        audit_group,
        mail_group,
        backup_cmd,
        restore_cmd,
    ):
        cli.add_command(cmd)
    return cli


def main() -> None:
    make_cli()(prog_name="foerdercall")
