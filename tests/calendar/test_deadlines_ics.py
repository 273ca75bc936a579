"""A call's deadlines as a calendar file (.ics) for its officials, a proposal's for its applicant: parsed with
a real parser (icalendar), RFC 5545 on the wire (CRLF, folding at 75 octets, escaping), times in UTC, stable
UIDs, and who may download which."""

from __future__ import annotations

import datetime as dt
import pathlib
import sys

import icalendar
from conftest import berlin, login

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "reviews"))

from assign_helpers import opened, score, submitted  # noqa: E402

from foerdercall.awards.operations import add_milestone, make_award, sign_off  # noqa: E402
from foerdercall.extensions import db  # noqa: E402
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, sign_neutrality  # noqa: E402
from foerdercall.workflow.engine import fire  # noqa: E402

HOSTILE = 'Kreativ; Wirtschaft, "Leipzig" \\ Süd\nZweite Zeile: Ä Ö Ü ß – ' + "Überlänge " * 8


def build(world, clock):
    """A (large: in its standstill), B (awarded, accepted, a milestone in summer), C (in clarification),
    D (a conflict of AfWiFö's). The call's title is hostile."""
    call = world.call
    call.title = HOSTILE
    call.standstill_threshold_cents = 20_000_00
    call.review_deadline = berlin(2026, 11, 30, 23, 59)
    a, b, c, d = submitted(world, 4, amounts=[20_000_00, 5_000_00, 5_000_00, 5_000_00])
    opened(world, clock, [a, b, d])
    fire(c, "request_documents", world.ka, reason="Bitte die Eigenerklärung unterschreiben.")
    for p in (a, b, d):
        assign_reviewer(p, world.rev1, world.ka)
        fire(p, "start_review", world.ka)
    db.session.commit()
    for p in (a, b, d):
        score(p, world.rev1, [5] * 6)
    for p in (a, b):
        sign_off(p, world.ka, "approve")
        sign_off(p, world.afw, "approve")
    sign_neutrality(call, world.afw)
    declare_conflict(d, world.afw, True, "Nachbar")
    fire(a, "start_standstill", world.ka)
    make_award(b, world.ka)
    fire(b, "accept_award", world.applicant)
    add_milestone(b, world.ka, "Sommerfest; Programm, fertig", berlin(2027, 6, 30, 23, 59))
    db.session.commit()
    return a, b, c, d


def events(resp) -> dict[str, icalendar.Event]:
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "text/calendar"
    raw = resp.get_data()
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))  # folded at 75 octets
    raw.decode("utf-8")  # folding never splits a character
    cal = icalendar.Calendar.from_ical(raw)
    assert cal["VERSION"] == "2.0" and cal["METHOD"] == "PUBLISH"
    found = {}
    for ev in cal.walk("VEVENT"):
        assert ev.get("DTSTAMP") is not None and ev.get("URL", "").startswith("http")
        found[str(ev["UID"])] = ev
    return found


def utc(ev) -> dt.datetime:
    start = ev.decoded("DTSTART")
    assert start.utcoffset() == dt.timedelta(0)
    return start


def by_summary(evs: dict, text: str) -> icalendar.Event:
    hits = [e for e in evs.values() if text in str(e["SUMMARY"])]
    assert len(hits) == 1, [str(e["SUMMARY"]) for e in evs.values()]
    return hits[0]


def test_every_deadline_of_the_call_in_utc(app, world, clock):
    a, b, c, d = build(world, clock)
    client = app.test_client()
    login(client, "ka@x.test")
    evs = events(client.get(f"/calls/{world.call.id}/deadlines.ics"))

    # winter: 23:59 in Leipzig is 22:59 UTC; summer: 21:59 UTC
    assert utc(by_summary(evs, "Einreichungsfrist")) == dt.datetime(2026, 10, 31, 22, 59, tzinfo=dt.UTC)
    assert utc(by_summary(evs, "Beginn des Aufrufs")) == dt.datetime(2026, 8, 31, 22, 0, tzinfo=dt.UTC)
    assert utc(by_summary(evs, "Begutachtung")) == dt.datetime(2026, 11, 30, 22, 59, tzinfo=dt.UTC)
    summer = by_summary(evs, "Sommerfest")
    assert utc(summer) == dt.datetime(2027, 6, 30, 21, 59, tzinfo=dt.UTC)
    assert str(summer["SUMMARY"]) == f"Meilenstein {b.file_number}: Sommerfest; Programm, fertig"
    # the hostile title comes back exactly (escaped on the wire, folded, unfolded by the parser)
    assert str(by_summary(evs, "Einreichungsfrist")["SUMMARY"]) == f"Einreichungsfrist KW26: {HOSTILE}"
    raw = client.get(f"/calls/{world.call.id}/deadlines.ics").get_data()
    assert b'Kreativ\\; Wirtschaft\\, "Leipzig" \\\\ S' in raw.replace(b"\r\n ", b"")
    assert b"\\nZweite Zeile" in raw.replace(b"\r\n ", b"")

    st = by_summary(evs, "Stillhaltefrist")
    assert a.file_number in str(st["SUMMARY"]) and str(st["URL"]).endswith(f"/proposals/{a.id}")
    assert by_summary(evs, "Annahmefrist").decoded("DTSTART") is not None
    assert b.file_number in str(by_summary(evs, "Ende der Umsetzung")["SUMMARY"])
    assert c.file_number in str(by_summary(evs, "Nachforderung")["SUMMARY"])
    assert (
        len([e for e in evs.values() if "Meilenstein" in str(e["SUMMARY"])]) >= 3
    )  # the plan + the summer one
    assert not any(
        p.title in str(e["SUMMARY"]) for e in evs.values() for p in (a, b, c, d)
    )  # file numbers only

    # stable UIDs: a second download has the same events; an extended deadline keeps its UID
    world.call.review_deadline = berlin(2026, 12, 4, 23, 59)
    db.session.commit()
    again = events(client.get(f"/calls/{world.call.id}/deadlines.ics"))
    assert set(again) == set(evs)
    uid = str(by_summary(evs, "Begutachtung")["UID"])
    assert utc(again[uid]) == dt.datetime(2026, 12, 4, 22, 59, tzinfo=dt.UTC)


def test_english_summaries_and_conflicts_hidden(app, world, clock):
    a, b, c, d = build(world, clock)
    world.afw.locale = "en"
    db.session.commit()
    client = app.test_client()
    login(client, "afw@x.test")
    evs = events(client.get(f"/calls/{world.call.id}/deadlines.ics"))
    summaries = [str(e["SUMMARY"]) for e in evs.values()]
    assert any(s.startswith("Submission deadline KW26") for s in summaries), summaries
    # AfWiFö declared a conflict with D: nothing of D; the others are there
    assert not any(d.file_number in s for s in summaries)
    assert any(b.file_number in s for s in summaries)


def test_who_may_download(app, world, clock):
    a, b, c, d = build(world, clock)
    url = f"/calls/{world.call.id}/deadlines.ics"
    assert app.test_client().get(url).status_code == 302  # to the login page
    for email, status in (("app@x.test", 403), ("rev1@x.test", 403), ("advisor@x.test", 403)):
        client = app.test_client()
        login(client, email)
        assert client.get(url).status_code == status, email
    admin = app.test_client()
    login(admin, "admin@x.test")
    evs = events(admin.get(url))  # the call's own dates; no proposal's (the admin reads no proposals)
    assert {str(e["SUMMARY"]).split(" ")[0] for e in evs.values()} == {"Beginn", "Einreichungsfrist", "Frist"}

    # a proposal's deadlines: its applicant; 404 for another applicant, 403 for an official who reads it
    own = app.test_client()
    login(own, "app@x.test")
    mine = events(own.get(f"/proposals/{b.id}/deadlines.ics"))
    assert any("Sommerfest" in str(e["SUMMARY"]) for e in mine.values())
    assert any("Ende der Umsetzung" in str(e["SUMMARY"]) for e in mine.values())
    ka = app.test_client()
    login(ka, "ka@x.test")
    # the same milestone has the same UID in the applicant's calendar and in the call's
    assert (
        by_summary(mine, "Sommerfest")["UID"]
        == by_summary(events(ka.get(f"/calls/{world.call.id}/deadlines.ics")), "Sommerfest")["UID"]
    )
    other = app.test_client()
    login(other, "app2@x.test")
    assert other.get(f"/proposals/{b.id}/deadlines.ics").status_code == 404
    assert ka.get(f"/proposals/{b.id}/deadlines.ics").status_code == 403
    assert ka.get("/proposals/999999/deadlines.ics").status_code == 404


def test_a_draft_shows_its_personal_deadline(app, world, clock):
    from foerdercall.proposals.operations import extend_deadline, start_draft

    p = start_draft(world.call, world.applicant)
    extend_deadline(p, world.ka, berlin(2026, 11, 7, 23, 59), "Krankheit")
    db.session.commit()
    client = app.test_client()
    login(client, "app@x.test")
    evs = events(client.get(f"/proposals/{p.id}/deadlines.ics"))
    assert [utc(e) for e in evs.values()] == [dt.datetime(2026, 11, 7, 22, 59, tzinfo=dt.UTC)]
