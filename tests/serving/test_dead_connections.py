"""The production server's connection pool checks a connection before lending it (issue 26): after PostgreSQL
closed the idle ones (a restart, an idle timeout, a failover), the next requests get fresh connections instead
of a 500. PostgreSQL only: SQLite has no server to close them."""
import time

import pytest
from django.conf import settings
from django.db import connection

from tests.serving.test_production_server import (  # noqa: F401 (production_server is a fixture)
    POOL_SIZE,
    SERVER_APPLICATION,
    get,
    member_session,
    production_server,
)

pytestmark = pytest.mark.worker


def _terminate_server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND application_name = %s", [SERVER_APPLICATION])
        return cursor.fetchone()[0]


def _server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND application_name = %s", [SERVER_APPLICATION])
        return cursor.fetchone()[0]


@pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
                    reason="PostgreSQL only (DATABASE_URL=postgres://...)")
def test_connections_closed_by_the_database_do_not_turn_into_500s(production_server):  # noqa: F811
    port = production_server
    project, session = member_session("Pool")
    cookie = f"{settings.SESSION_COOKIE_NAME}={session}"
    path = f"/api/projects/{project.pk}/"
    # Fill every worker's pool with idle connections.
    assert {get(port, path, cookie)[0] for _ in range(30)} == {200}
    assert _server_connections() >= 1
    for _ in range(2):
        assert _terminate_server_connections() >= 1
        deadline = time.monotonic() + 5
        while _server_connections() and time.monotonic() < deadline:
            time.sleep(0.05)
        answers = [get(port, path, cookie)[0] for _ in range(4 * POOL_SIZE * 3)]
        assert answers == [200] * len(answers), answers
