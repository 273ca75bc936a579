"""Language: German msgids, an English catalogue that covers all of them, and the language switch.

The catalogue tests read translations/messages.pot (written by scripts/update-translations) and
translations/en/LC_MESSAGES/messages.po; a new German string without an English translation fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from conftest import fill_draft, login
from sqlalchemy import select

from foerdercall.extensions import db

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "translations" / "messages.pot"
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"

# printf-style placeholders as Python's % operator reads them: %(name)s, %s, %d, %.2f, %%
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]")


def _read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


@pytest.fixture(scope="module")
def english():
    return _read(PO)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The msgids as the code and templates hold them now (not as the committed .pot remembers them)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "--omit-header",
            "-o",
            str(out),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    return _read(out)


def test_every_msgid_has_an_english_translation(english, extracted):
    missing = []
    for m in extracted:
        if not m.id:
            continue
        tr = english.get(m.id)
        if tr is None or tr.fuzzy or not all(s and s.strip() for s in _strings(tr)):
            missing.append(_ids(m)[0])
    assert not missing, (
        f"{len(missing)} German message(s) have no English translation in {PO.relative_to(ROOT)}; "
        "run scripts/update-translations and translate:\n  " + "\n  ".join(missing)
    )


def test_placeholders_match(english):
    wrong = []
    for m in english:
        if not m.id:
            continue
        ids = _ids(m)
        expected = sorted(PLACEHOLDER.findall(ids[-1]))
        for s in _strings(m):
            if s and sorted(PLACEHOLDER.findall(s)) != expected:
                wrong.append(f"{ids[0]!r} -> {s!r}")
    assert not wrong, "placeholders differ between msgid and msgstr:\n  " + "\n  ".join(wrong)


def test_catalogue_has_no_obsolete_or_fuzzy_entries(english):
    # a .po without its header counts as fuzzy as a whole, and `pybabel compile` silently skips it
    assert not english.fuzzy, "the .po has lost its header or is marked fuzzy: pybabel compile would skip it"
    assert not english.obsolete, "obsolete entries in the .po: run scripts/update-translations"
    assert not [m.id for m in english if m.id and m.fuzzy]


def _body(resp) -> str:
    assert resp.status_code == 200, (resp.status_code, resp.get_data(as_text=True)[:800])
    return resp.get_data(as_text=True)


def test_german_is_the_default(app, world):
    client = app.test_client()
    index = _body(client.get("/calls", headers={"Accept-Language": "de"}))
    assert "Aufrufe" in index and "Anmelden" in index
    assert "Log in" not in index
    detail = _body(client.get(f"/calls/{world.call.id}", headers={"Accept-Language": "de"}))
    assert "Auswahlkriterien" in detail and "Kriterium" in detail and "Gewicht" in detail
    assert "Selection criteria" not in detail


def test_language_switch_for_a_visitor(app, world):
    client = app.test_client()
    de = {"Accept-Language": "de"}
    _body(client.get("/calls", headers=de))
    resp = client.post("/language", data={"lang": "en", "next": "/calls"}, headers=de)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/calls")

    index = _body(client.get("/calls", headers=de))
    assert '<html lang="en">' in index
    assert "Calls" in index and "Log in" in index and "Register" in index
    assert "Anmelden" not in index
    detail = _body(client.get(f"/calls/{world.call.id}", headers=de))
    for heading in ("Selection criteria", "Criterion", "Weight", "Knock-out minimum", "Attachments"):
        assert heading in detail, heading
    assert "Auswahlkriterien" not in detail
    assert "Offer with cost calculation (PDF)" in detail  # the attachment questions in English too
    missing = client.get("/calls/999999", headers=de)
    assert missing.status_code == 404 and "This page does not exist" in missing.get_data(as_text=True)

    client.post("/language", data={"lang": "de"}, headers=de)
    assert "Anmelden" in _body(client.get("/calls", headers=de))


def test_unknown_language_is_refused(app, world):
    assert app.test_client().post("/language", data={"lang": "fr"}).status_code == 400


def test_a_users_choice_is_stored_and_their_mail_is_english(app, world):
    from foerdercall.models import OutboxMail
    from foerdercall.proposals.operations import start_draft
    from foerdercall.workflow.engine import fire

    user = world.applicant
    assert user.locale == "de"
    client = app.test_client()
    login(client, user.email)
    assert client.post("/language", data={"lang": "en"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(user), user.id).locale == "en"

    # the stored choice wins over the browser's language, in a new session too
    fresh = app.test_client()
    login(fresh, user.email)
    page = _body(fresh.get("/calls", headers={"Accept-Language": "de"}))
    assert "My submissions" in page and "Log out" in page

    p = fill_draft(start_draft(world.call, user), user)
    fire(p, "submit", user)
    db.session.commit()
    mail = db.session.scalars(
        select(OutboxMail).where(OutboxMail.recipient_id == user.id, OutboxMail.kind == "receipt")
    ).one()
    assert mail.locale == "en"
    assert mail.subject.startswith("Receipt confirmation"), mail.subject
    assert mail.subject.endswith(p.file_number)


def test_a_german_users_mail_stays_german(app, world):
    from foerdercall.models import OutboxMail
    from foerdercall.proposals.operations import start_draft
    from foerdercall.workflow.engine import fire

    user = world.applicant2
    p = fill_draft(start_draft(world.call, user), user)
    fire(p, "submit", user)
    db.session.commit()
    mail = db.session.scalars(select(OutboxMail).where(OutboxMail.recipient_id == user.id)).one()
    assert mail.subject.startswith("Eingangsbestätigung"), mail.subject
