"""schemathesis against /api/schema/: every documented operation, valid and invalid input, no server error.

Authenticated as the project's admin with a token; path ids point at real rows of the fixture project (random
ids would only ever reach the 404 of the membership check). Bounded for CI: a fixed number of derandomized
examples per operation and mode, no shrinking; failures are collected so one run reports them all.
"""
import time
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tests.scenarios import project_url_ids

EXAMPLES = 20
BUDGET_SECONDS = 300  # a guard against unbounded growth; ~60-120 s on two busy cores
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.fixture
def api(prepare_project, settings):
    """The schema as served to the fixture project's admin, with the ids of rows every path can point at."""
    ids = project_url_ids(prepare_project)
    token = Token.objects.create(user=prepare_project.admin)
    headers = {"Authorization": f"Token {token.key}"}
    # As Django's test client does: the test's transaction must survive each in-process request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler(), headers=headers)
        yield schema, headers, ids
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str], path_parameters: dict[str, int],
          failures: list[str]) -> None:
    """Run one operation's generated cases in one mode; a server error is appended to `failures`."""
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except (AssertionError, FailureGroup) as exc:
            failures.append(f"{operation.label} [{mode.value}]: {str(exc).splitlines()[0]}\n"
                            f"  {case.as_curl_command()}")
            raise

    try:
        run()
    except (AssertionError, FailureGroup):
        pass  # recorded above; carry on with the other operations
    except Unsatisfiable:
        pass  # nothing to make invalid (an operation without parameters or body): nothing to test


@pytest.mark.django_db
def test_no_server_error_on_any_operation(api):
    """0 server errors over every operation of the documented API, with valid and with invalid input."""
    schema, headers, ids = api
    failures: list[str] = []
    started = time.monotonic()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        path_parameters = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
        for mode in MODES:
            _fuzz(operation, mode, headers, path_parameters, failures)
    elapsed = time.monotonic() - started
    assert not failures, "\n".join(failures)
    assert elapsed < BUDGET_SECONDS, f"schemathesis took {elapsed:.0f}s"
