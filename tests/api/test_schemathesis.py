"""Property-based API testing: schemathesis drives every operation of the OpenAPI schema.

The schema is the one ``/api/schema/`` serves (tests/api/test_schema.py checks they are the
same document), generated once at collection so that every operation is its own test item.
Requests go in-process through the WSGI application (no server to start), authenticated
with an API token that may read and write every entity. The check is the issue's: no
operation answers a server error (5xx), whatever schemathesis sends, valid or not.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from connectors.authentication import READ_ALL_SCOPE
from records.ingestion.services import ENTITY_NAMES
from tests.connectors.helpers import make_token

# Examples per operation: ~90 operations stay well under two minutes on either database.
MAX_EXAMPLES = 10
# Fewer for operations whose cost grows with the request (none at present: the metrics
# endpoints cap their period at ten years).
MAX_EXAMPLES_FOR: dict[str, int] = {}


def in_test_transaction(handler):
    """The WSGI app, minus closing the database connection around each request.

    Django's handler closes the connection when a request starts and finishes, which would
    end the test's transaction; Django's own test client disconnects those signals the same
    way.
    """

    def app(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = handler(environ, start_response)
            body = b"".join(response)
            response.close()
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return app


def served_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(served_schema())
schema.app = in_test_transaction(get_wsgi_application())


@pytest.fixture
def token_headers(db):
    _, plaintext = make_token(
        entities=ENTITY_NAMES,
        can_read=True,
        # Wider reads too, so the computed metrics endpoints are fuzzed past their 403.
        scopes=["roadmap.measurements", READ_ALL_SCOPE],
        name="fuzz",
    )
    return {"Authorization": f"Bearer {plaintext}"}


OPERATIONS = [result.ok() for result in schema.get_all_operations()]
CANONICAL_DATA_PATHS = {
    *(f"/api/v1/ingest/{entity}/" for entity in ENTITY_NAMES),
    *(f"/api/v1/{entity}/" for entity in ENTITY_NAMES),
}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
def test_no_operation_answers_a_server_error(operation, mode, token_headers):
    statuses = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES_FOR.get(operation.label, MAX_EXAMPLES),
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        response = case.call(headers=token_headers)
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])

    call()
    assert statuses
    if "/webhooks/" not in operation.path and mode == GenerationMode.POSITIVE:
        # Valid requests really were authenticated (negative mode also mangles credentials).
        assert 401 not in statuses
        # Pushes and lists of the canonical data succeed (the token holds no other rights).
        if operation.path in CANONICAL_DATA_PATHS:
            assert any(200 <= status < 300 for status in statuses), statuses


def test_every_operation_is_fuzzed():
    labels = {operation.label for operation in OPERATIONS}
    assert "POST /api/v1/ingest/gl_lines/" in labels
    assert "POST /api/v1/webhooks/{slug}/" in labels
    assert "GET /api/v1/gl_lines/" in labels
    assert len(labels) == len(OPERATIONS) >= 80
