"""Theme keys over the API: a key in use is a clear 400 naming the theme that has it."""
import pytest


@pytest.mark.django_db
def test_creating_a_theme_with_a_used_key_names_the_holder(prepare_project):
    url = f"/api/projects/{prepare_project.project.pk}/themes/"
    answer = prepare_project.client("admin").post(url, {"name": "Quality", "shortcut": "1"}, format="json")
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["message"].startswith("shortcut: the key “1” is already used by the theme “Price”")
    assert "constraint" not in body["message"].lower()
    assert not prepare_project.project.themes.filter(name="Quality").exists()


@pytest.mark.django_db
def test_rekeying_a_theme_to_a_used_key_names_the_holder(prepare_project):
    delivery = prepare_project.themes[1]
    url = f"/api/projects/{prepare_project.project.pk}/themes/{delivery.pk}/"
    client = prepare_project.client("admin")
    answer = client.patch(url, {"shortcut": "1"}, format="json")
    assert answer.status_code == 400
    assert "“Price”" in answer.json()["message"]
    # Its own key, or a free one, is fine.
    assert client.patch(url, {"shortcut": "2"}, format="json").status_code == 200
    assert client.patch(url, {"shortcut": "x"}, format="json").json()["shortcut"] == "x"
