"""The call dashboard for officials: the numbers shown in its tables (the charts' text alternative), the seal
(before the opening only how many arrived), and who may see it."""

from __future__ import annotations

import re

from conftest import berlin, fill_draft, login

from foerdercall.awards.operations import make_award, sign_off
from foerdercall.calls.operations import confirm_opening, request_opening
from foerdercall.extensions import db
from foerdercall.proposals.operations import save_draft, start_draft
from foerdercall.reviews.operations import assign_reviewer, declare_conflict, save_review, sign_neutrality
from foerdercall.workflow.engine import fire


def table_rows(html: str, table_id: str) -> dict[str, list[str]]:
    """{row header: [cells]} of one table, tags stripped."""
    body = html[html.index(f'id="{table_id}"') :]
    body = body[: body.index("</table>")]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        head = re.search(r'<th scope="row">(.*?)</th>', tr, re.S)
        if head:
            rows[head.group(1).strip()] = [
                re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
            ]
    return rows


def page(app, email="ka@x.test", call_id=1):
    client = app.test_client()
    login(client, email)
    resp = client.get(f"/calls/{call_id}/dashboard", headers={"Accept-Language": "de"})
    return resp.status_code, resp.get_data(as_text=True)


def _submit(world, user, title, field="networks", amount=10_000_00):
    p = fill_draft(start_draft(world.call, user), user, amount=amount, title=title)
    save_draft(p, user, {"field_of_action": field})
    fire(p, "submit", user)
    return p


def test_dashboard_before_and_after_the_opening(app, world, clock):
    from foerdercall.accounts import operations as account_ops

    third = account_ops.create_user("app3@x.test", "Clara", "correct horse battery", roles=("applicant",))
    p = _submit(world, world.applicant, "Erstes Angebot 1A")
    q = _submit(world, world.applicant2, "Zweites Angebot 2B", field="marketing")
    r = _submit(world, third, "Drittes Angebot 3C", field="marketing", amount=5_000_00)
    fill_draft(start_draft(world.call, world.applicant), world.applicant, title="Entwurf")
    db.session.commit()

    status, html = page(app, call_id=world.call.id)
    assert status == 200
    assert '<strong id="received-count">3</strong>' in html
    assert "bis zur Öffnung verschlossen" in html
    assert "state-table" not in html and "field-table" not in html and "reviewer-table" not in html
    for title in ("Erstes Angebot 1A", "Zweites", "Drittes", "Ada Applicant"):
        assert title not in html
    assert table_rows(html, "budget-table")["Verfügbar"] == ["50.000,00\xa0€", "100,0 %"]

    clock.set(berlin(2026, 11, 2, 9, 0))
    fire(world.call, "close", None)
    request_opening(world.call, world.ka)
    confirm_opening(world.call, world.afw)
    fire(r, "declare_ineligible", world.ka, reason="Kein Bezug zu Leipzig")
    for x in (p, q):
        fire(x, "declare_eligible", world.ka)
    sign_neutrality(world.call, world.rev1)
    sign_neutrality(world.call, world.rev2)
    reviews = {
        (x.id, rev.id): assign_reviewer(x, rev, world.ka) for x in (p, q) for rev in (world.rev1, world.rev2)
    }
    for x in (p, q):
        fire(x, "start_review", world.ka)
    for x, rev in ((p, world.rev1), (p, world.rev2), (q, world.rev1)):
        declare_conflict(x, rev, False)
        save_review(
            reviews[(x.id, rev.id)], rev, {c.id: (4, "gut") for c in world.call.criteria}, submit=True
        )
    sign_off(p, world.ka, "approve")
    sign_off(p, world.afw, "approve")
    make_award(p, world.ka)
    db.session.commit()

    status, html = page(app, email="afw@x.test", call_id=world.call.id)
    assert status == 200 and '<strong id="received-count">3</strong>' in html
    assert table_rows(html, "state-table") == {
        "Entwurf": ["1"],
        "Formal ausgeschlossen": ["1"],
        "In Begutachtung": ["1"],
        "Zuschlag erteilt": ["1"],
    }
    assert table_rows(html, "field-table") == {"Netzwerke": ["1"], "Marketing": ["2"]}
    assert table_rows(html, "budget-table") == {
        "Budget": ["50.000,00\xa0€", "100,0 %"],
        "Vergeben": ["10.000,00\xa0€", "20,0 %"],
        "Verfügbar": ["40.000,00\xa0€", "80,0 %"],
    }
    assert table_rows(html, "reviewer-table") == {
        "Rita Reviewer": ["2", "0", "2"],
        "Rolf Reviewer": ["1", "1", "2"],
    }
    assert "3 von 4 Gutachten abgegeben." in html
    # the charts are drawn on the server (no script), hidden from screen readers that read the tables
    main = html[html.index("<main") : html.index("</main>")]
    assert main.count('<svg class="chart"') == 4 and "<script" not in main
    assert 'aria-hidden="true"' in html and "<caption>" in html
    # linked from the call page for officials
    client = app.test_client()
    login(client, "ka@x.test")
    assert f"/calls/{world.call.id}/dashboard" in client.get(f"/calls/{world.call.id}").get_data(as_text=True)


def test_dashboard_is_for_officials_only(app, world):
    for email in ("app@x.test", "rev1@x.test", "admin@x.test", "advisor@x.test"):
        assert page(app, email=email, call_id=world.call.id)[0] == 403, email
    resp = app.test_client().get(f"/calls/{world.call.id}/dashboard")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert page(app, call_id=9999)[0] == 404
