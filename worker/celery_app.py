"""The worker's Celery application: the client side of ``foerdercall.broker`` (settings, hand-over) with the
worker's tasks registered, and fresh database connections in each forked pool process."""

from __future__ import annotations

from celery.signals import worker_process_init
from flask import has_app_context

from foerdercall.broker import celery_for
from foerdercall.extensions import db

from . import tasks  # noqa: F401  (registers the shared tasks with every Celery app)

__all__ = ["celery_for"]


@worker_process_init.connect
def _fresh_connections(**_kw) -> None:
    """A forked pool process must not share the parent's database connections."""
    if has_app_context():  # `foerdercall worker` runs inside the app's context
        db.engine.dispose(close=False)
