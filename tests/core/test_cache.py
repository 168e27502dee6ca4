"""The cache while Redis is down: a miss and a dropped write, never an error (labeling_app.core.cache)."""
import socket

import pytest
from django.core.cache import cache

from labeling_app.core.progress import progress_get, progress_set


def test_a_down_cache_reads_as_empty_and_drops_writes(settings):
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    progress_set(kind="import", job_id=1, percent=50)
    assert progress_get(kind="import", job_id=1, default=7) == 7
    assert cache.get_many(["a", "b"]) == {} and cache.add("a", 1) is False and cache.get("a", "miss") == "miss"
    cache.delete("a")


@pytest.mark.worker  # needs the test Redis
def test_with_redis_up_the_cache_works_as_before():
    cache.set("outage-test", 3, 5)
    assert cache.get("outage-test") == 3
    cache.delete("outage-test")
