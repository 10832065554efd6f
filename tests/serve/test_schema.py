"""Schemathesis against the OpenAPI schema on the real server: no request crashes it, every answer conforms."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

#: Examples per operation: enough to try every parameter and body kind, small enough for the default run.
EXAMPLES = 30


def test_no_request_crashes_the_service(live_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} == {
        "GET /healthz", "GET /v1/model", "GET /v1/members/{name}/thumbnail", "POST /v1/predict"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            # Random bytes that match "format: binary" are no image: 415 is the right answer, not a 2xx.
            case.call_and_validate(excluded_checks=[positive_data_acceptance], timeout=60)

        check()
