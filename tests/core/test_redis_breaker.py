"""The per-process Redis breaker (issue 26): opened by a failed call, closed by its probe once Redis answers, and
never inherited by a forked process."""
import multiprocessing
import time

import pytest
from django.conf import settings

from labeling_app.core.redis_breaker import PROBE_SECONDS, redis_breaker_is_open, redis_breaker_trip


@pytest.fixture
def redis_up_url() -> str:
    """The tests' Redis under a URL of its own, so that opening its breaker holds back no other test's calls."""
    return settings.REDIS_URL.rsplit("/", 1)[0] + "/0"


def test_a_tripped_breaker_closes_once_its_probe_finds_redis_answering(redis_up_url):
    redis_breaker_trip("a test's failed call", redis_up_url)
    assert redis_breaker_is_open(redis_up_url)
    assert not redis_breaker_is_open(settings.REDIS_URL)  # per Redis URL
    deadline = time.monotonic() + 3 * PROBE_SECONDS + 2
    while redis_breaker_is_open(redis_up_url):
        assert time.monotonic() < deadline, "the probe did not close the breaker"
        time.sleep(0.1)


def test_a_closed_port_keeps_the_breaker_open():
    down = "redis://127.0.0.1:1/0"
    redis_breaker_trip("a test's failed call", down)
    time.sleep(2 * PROBE_SECONDS + 0.5)
    assert redis_breaker_is_open(down)


def _child_sees(url: str, answer: "multiprocessing.Queue[bool]") -> None:
    answer.put(redis_breaker_is_open(url))


def test_a_forked_process_starts_with_its_breaker_closed():
    down = "redis://127.0.0.1:1/0"
    redis_breaker_trip("a test's failed call", down)
    context = multiprocessing.get_context("fork")  # as gunicorn's --preload and Celery's pool start processes
    answer = context.Queue()
    child = context.Process(target=_child_sees, args=(down, answer))
    child.start()
    child.join(10)
    assert answer.get(timeout=5) is False
    assert redis_breaker_is_open(down)
