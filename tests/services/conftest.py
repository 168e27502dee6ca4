import pytest

from tests.factories import UserFactory


@pytest.fixture
def analyst(db):
    """An analyst who is a member of the demo projects the service tests make."""
    return UserFactory(username="tess-analyst")
