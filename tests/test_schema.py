"""The schema is made by the migrations, and the migrations match the models."""

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import exc

from foerdercall.extensions import db


def test_migrations_match_the_models(app):
    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite's reflection skips indexes on expressions (lower(email)); PostgreSQL's compares them
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", exc.SAWarning
        )
        warnings.filterwarnings(
            "ignore", "autogenerate skipping metadata-specified expression-based index", UserWarning
        )
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == [], f"models and migrations differ; run `foerdercall db migrate`: {diff}"
