"""Two installations on one Redis keep their Celery queues and event channels apart."""
import subprocess
import sys

import pytest
import redis
from django.conf import settings

from labeling_app.live.services import project_channel
from labeling_app.settings import _instance_of


def test_instance_name_follows_the_database():
    a = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/checkout-a/var/themeloop.sqlite3"}
    b = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/checkout-b/var/themeloop.sqlite3"}
    assert _instance_of(a) != _instance_of(b)
    assert _instance_of(a) == _instance_of(dict(a))  # web and worker of one checkout agree


def _instance_in_subprocess(env_extra: dict) -> str:
    code = "from django.conf import settings; print(settings.THEMELOOP_INSTANCE)"
    env = {"DJANGO_SETTINGS_MODULE": "labeling_app.settings", "THEMELOOP_DEV": "1", "PATH": "/usr/bin:/bin",
           **env_extra}
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], env=env,
                         capture_output=True, text=True, check=True, cwd=settings.BASE_DIR)
    return out.stdout.strip()


def test_two_checkouts_get_different_prefixes(tmp_path):
    one = _instance_in_subprocess({"DATABASE_URL": f"sqlite:///{tmp_path}/one.sqlite3"})
    two = _instance_in_subprocess({"DATABASE_URL": f"sqlite:///{tmp_path}/two.sqlite3"})
    assert one and two and one != two
    assert _instance_in_subprocess({"DATABASE_URL": f"sqlite:///{tmp_path}/one.sqlite3"}) == one


@pytest.mark.worker
def test_a_sent_task_lands_only_in_this_installations_queue():
    from labeling_app.modeling.tasks.training import retrain

    client = redis.Redis.from_url(settings.REDIS_URL)
    mine = f"{settings.REDIS_KEY_PREFIX}training"
    client.delete(mine)
    before_bare = client.llen("training")
    retrain.apply_async(kwargs={"project_id": 987654321})
    try:
        assert client.llen(mine) == 1
        assert client.llen("training") == before_bare  # nothing in the unprefixed queue another checkout reads
    finally:
        client.delete(mine)
    assert project_channel(1).startswith(settings.REDIS_KEY_PREFIX)
