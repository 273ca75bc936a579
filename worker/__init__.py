"""The worker: one periodic function (sweep), the runners that commit, and the hand-over of mail.

Embedded default (no BROKER_URL): the sweep runs in a thread of ``foerdercall serve`` and mail is delivered
into the local outbox (or over SMTP) right after the commit that wrote it. With BROKER_URL the Celery worker
on Redis (``worker/celery_app.py``, ``worker/tasks.py``) runs the same sweep and delivers the mail: the
after-commit queue (``foerdercall/aftercommit.py``, kind ``mail``: ``foerdercall.mail.operations.dispatch``)
hands the ids to it through :func:`foerdercall.broker.enqueue_deliveries`.
"""
