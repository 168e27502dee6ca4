from django.http import HttpRequest

from labeling_app.core.redis_health import redis_available


def redis_notice(request: HttpRequest) -> dict[str, bool]:
    """`redis_unavailable` for base.html's notice: live updates, progress and new jobs wait for Redis."""
    return {"redis_unavailable": not redis_available()}
