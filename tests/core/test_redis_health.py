"""The outage notice's Redis check: a real Redis answers, a closed port does not, and answers are remembered."""
import socket

from labeling_app.core import redis_health


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket is closed


def test_a_running_redis_is_available(settings):
    redis_health._last.clear()
    assert redis_health.redis_available() is True


def test_a_redis_that_does_not_answer_is_unavailable_and_the_answer_is_remembered(settings, monkeypatch):
    redis_health._last.clear()
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    assert redis_health.redis_available() is False
    # Within CHECK_EVERY_SECONDS the remembered answer is given without asking Redis again.
    monkeypatch.setattr(redis_health.redis.Redis, "from_url", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    assert redis_health.redis_available() is False
    clock = redis_health.time.monotonic() + redis_health.CHECK_EVERY_SECONDS + 1
    monkeypatch.undo()
    monkeypatch.setattr(redis_health.time, "monotonic", lambda: clock)
    assert redis_health.redis_available() is False  # asked again after the interval: still down
    assert redis_health._last[settings.REDIS_URL][0] == clock
