"""The migrations that made offices, fields of action and the milestone plan data keep what a city stored before:
a call of the fixed fields of action gets their rows with both labels, the two offices that decided every call
so far, and the milestones the code made for every award."""

from __future__ import annotations

import datetime as dt
import json

from conftest import migrated_app
from sqlalchemy import text

from foerdercall.extensions import db


def test_a_call_stored_before_keeps_its_terms(fresh_database, tmp_path):
    from flask_migrate import downgrade, upgrade

    app = migrated_app(fresh_database, tmp_path)
    directory = app.extensions["migrate"].directory
    with app.app_context():
        downgrade(directory=directory, revision="8c9d0e1f2a3b")  # before offices were data
        db.session.remove()
        at = dt.datetime(2026, 1, 5, 9, 0)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO calls (code, title, description, fields_of_action, state, mode, legal_regime, "
                    "procedure_type, procedure_reason, estimated_value_cents, budget_cents, max_amount_cents, "
                    "committed_cents, opens_at, submission_deadline, clarification_days, acceptance_days, "
                    "implementation_months, scale_max, min_total, version, next_file_seq, created_at, "
                    "row_version) VALUES ('KW2026', 'Aufruf 2026', '', :fields, 'published', 'procurement', "
                    "'', '', '', 0, 6000000, 2500000, 0, :at, :at, 14, 28, 10, 5, 50, 1, 1, :at, 1)"
                ),
                {"fields": '["networks", "financing"]', "at": at},
            )
        upgrade(directory=directory)
        row = db.session.execute(
            text("SELECT fields_of_action, deciding_offices, milestone_plan FROM calls WHERE code = 'KW2026'")
        ).one()
        fields, offices, plan = (v if isinstance(v, list) else json.loads(v) for v in row)
        assert fields == [
            {"key": "networks", "de": "Netzwerke", "en": "Networks"},
            {"key": "financing", "de": "Finanzierung", "en": "Financing"},
        ]
        assert offices == ["KA", "AfWiFoe"]
        assert plan == [
            {"de": "Projektstart", "en": "Kick-off", "month": 1},
            {"de": "Halbzeit: Zwischenstand", "en": "Mid-term", "month": 5},
        ]
        names = db.session.execute(text("SELECT key, short_name, name FROM offices ORDER BY id")).all()
        assert [tuple(n) for n in names] == [
            ("KA", "KA", "Kulturamt"),
            ("AfWiFoe", "AfWiFö", "Amt für Wirtschaftsförderung"),
        ]
        db.session.remove()
        db.engine.dispose()
