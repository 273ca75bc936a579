from conftest import login


def test_world_builds_and_pages_render(app, world):
    client = app.test_client()
    assert "Kreativwirtschaft 2026" in client.get("/calls").get_data(as_text=True)
    login(client, "app@x.test")
    page = client.get(f"/calls/{world.call.id}").get_data(as_text=True)
    assert "Angebot beginnen" in page
