"""The theme editor page: a key in use shows a clear message naming the theme that has it."""
import pytest
from django.test import Client
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["create", "edit"])
def test_a_used_key_is_a_clear_message(prepare_project, how):
    delivery = prepare_project.themes[1]
    client = Client()
    client.force_login(prepare_project.admin)
    url = reverse("theme-editor", kwargs={"project_id": prepare_project.project.pk})
    if how == "create":
        data = {"action": "create", "new-name": "Quality", "new-colour": "#123456", "new-shortcut": "1"}
    else:
        data = {"action": "save", "theme_id": delivery.pk, f"t{delivery.pk}-name": "Delivery",
                f"t{delivery.pk}-colour": "#123456", f"t{delivery.pk}-shortcut": "1"}
    page = client.post(url, data, follow=True)
    text = page.content.decode()
    assert "already used by the theme “Price”" in text
    assert "onstraint" not in text
    delivery.refresh_from_db()
    assert delivery.shortcut == "2"
    assert not prepare_project.project.themes.filter(name="Quality").exists()
