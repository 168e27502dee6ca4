"""Theme service rules: keys are unique among live themes, and the error says which theme has the key."""
import pytest
from django.core.exceptions import ValidationError

from labeling_app.services.themes import theme_create, theme_update


@pytest.mark.django_db
def test_a_used_key_is_refused_naming_the_theme(prepare_project):
    with pytest.raises(ValidationError) as caught:
        theme_create(project=prepare_project.project, name="Quality", shortcut="2")
    assert caught.value.message_dict["shortcut"][0].startswith("the key “2” is already used by the theme “Delivery”")
    with pytest.raises(ValidationError, match="“Price”"):
        theme_update(theme=prepare_project.themes[1], shortcut="1")


@pytest.mark.django_db
def test_an_archived_themes_key_is_free_again(prepare_project):
    price, _ = prepare_project.themes
    theme_update(theme=price, archived=True)
    assert theme_create(project=prepare_project.project, name="Quality", shortcut="1").shortcut == "1"
