"""Coder identities: the imported coder and coders named in a file are attributions, never logins."""
import pytest

from labeling_app.projects.services.users import file_coder_get, imported_coder_get
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_file_coders_are_one_inactive_identity_per_project_and_name():
    one, other = ProjectFactory(), ProjectFactory()
    ruth = file_coder_get(project=one, name="Ruth O'Neil")
    assert ruth == file_coder_get(project=one, name="Ruth O'Neil")
    assert ruth != file_coder_get(project=other, name="Ruth O'Neil")
    assert ruth != file_coder_get(project=one, name="ruth o'neil")  # names as the file spells them
    assert not ruth.is_active and not ruth.has_usable_password() and ruth.first_name == "Ruth O'Neil"


def test_the_imported_coder_cannot_log_in():
    coder = imported_coder_get()
    assert coder == imported_coder_get() and not coder.is_active and not coder.has_usable_password()
