"""A job's page (progress, per-item results, the download), its status as JSON (for app.js) and the
download. Only the person who started the job and the admins see it, only the starter downloads its file (the
rules ``job.read`` and ``job.download``, through ``policy.loaders.get_job_for``)."""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_login import current_user, login_required

from ..policy.loaders import get_job_for
from ..sheets import file_response
from .files import attachment_headers
from .operations import result_file

bp = Blueprint("jobs", __name__)

REFRESH_SECONDS = 2


def status(job) -> dict:
    return {
        "id": job.id,
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "message": job.message,
        "finished": job.finished,
        "items": job.items,
        "download": job.has_file,
    }


@bp.route("/jobs/<int:job_id>")
@login_required
def show(job_id: int):
    job = get_job_for(current_user, job_id)
    response = Response(render_template("jobs/show.html", job=job, refresh=REFRESH_SECONDS))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/jobs/<int:job_id>.json")
@login_required
def status_json(job_id: int):
    job = get_job_for(current_user, job_id)
    return status(job), 200, {"Cache-Control": "no-store"}


@bp.route("/jobs/<int:job_id>/download")
@login_required
def download(job_id: int):
    job = get_job_for(current_user, job_id, "job.download")
    return file_response(
        result_file(job),
        job.result_mimetype or "application/octet-stream",
        attachment_headers(job.result_name or f"job-{job.id}"),
    )
