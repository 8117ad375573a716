"""The OpenAPI document (/api/schema/) and the interactive docs (/api/docs/)."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from connectors.schema import example_record
from records.ingestion.entities import ENTITIES
from records.ingestion.services import Actor, entity_field_docs, ingest_records
from records.models import IngestBatch
from tests.connectors.helpers import bearer, make_token
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db
INGEST_ERRORS = {"400", "401", "403", "409", "413", "415", "422", "429"}


@pytest.fixture
def served(client):
    _, plaintext = make_token(can_read=True)
    response = client.get("/api/schema/?format=json", **bearer(plaintext))
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_needs_authentication(client):
    assert client.get("/api/schema/").status_code == 401


def test_session_users_get_the_schema(client, finance_viewer):
    client.force_login(finance_viewer)
    assert client.get("/api/schema/").status_code == 200


def test_the_schema_is_valid_openapi_3_and_what_the_fuzz_test_uses(served):
    assert served["openapi"].startswith("3.")
    validate_schema(served)
    assert served == json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))


def test_every_ingest_endpoint_is_documented_with_its_record_schema_and_errors(served):
    for entity in ENTITIES:
        operation = served["paths"][f"/api/v1/ingest/{entity}/"]["post"]
        assert operation["operationId"] == f"ingest_{entity}"
        assert operation["security"] == [{"apiToken": []}]
        body = operation["requestBody"]["content"]["application/json"]
        assert body["schema"]["maxItems"] == 5000
        item = body["schema"]["items"]
        assert item["additionalProperties"] is False
        assert set(item["properties"]) == set(entity_field_docs(entity))
        assert "external_id" in item["required"]
        assert body["examples"]
        assert set(operation["responses"]) >= INGEST_ERRORS
        assert {"200", "201"} <= set(operation["responses"])
        params = {p["name"] for p in operation["parameters"]}
        assert {"atomic", "source", "Idempotency-Key"} <= params


def test_money_fields_are_documented_as_exact_decimals(served):
    amount = served["paths"]["/api/v1/ingest/gl_lines/"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["items"]["properties"]["amount"]
    assert amount["oneOf"][0] == {"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$"}
    assert "NaN" in amount["description"]


def test_every_read_endpoint_is_documented(served):
    for entity in [*ENTITIES, "currencies", "ingest-batches", "rejected-records"]:
        assert "get" in served["paths"][f"/api/v1/{entity}/"], entity
        detail = [p for p in served["paths"] if p.startswith(f"/api/v1/{entity}/{{")]
        assert detail, entity
    params = {p["name"] for p in served["paths"]["/api/v1/gl_lines/"]["get"]["parameters"]}
    assert {
        "posting_date__gte",
        "posting_date__lte",
        "account",
        "department",
        "campaign",
        "ordering",
        "cursor",
        "page_size",
    } <= params


def test_the_webhook_endpoint_and_both_security_schemes_are_documented(served):
    operation = served["paths"]["/api/v1/webhooks/{slug}/"]["post"]
    assert operation["security"] == [{"webhookSignature": []}]
    assert {"200", "400", "401", "403", "404", "413", "415", "429"} <= set(operation["responses"])
    schemes = served["components"]["securitySchemes"]
    assert schemes["apiToken"]["scheme"] == "bearer"
    assert schemes["webhookSignature"]["name"] == "X-FinHub-Signature"


def test_the_unknown_entity_catch_all_is_not_in_the_schema(served):
    assert "/api/v1/ingest/{entity}/" not in served["paths"]


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_the_documented_example_record_is_accepted_by_the_engine(entity):
    record = example_record(entity, entity_field_docs(entity))
    result = ingest_records(
        source=ConnectorFactory(),
        entity=entity,
        records=[record],
        actor=Actor(),
        dry_run=True,
    )
    assert result.as_dict()["errors"] == []
    assert (result.created, result.rejected) == (1, 0)
    assert IngestBatch.objects.count() == 0  # a dry run writes nothing


def test_the_interactive_docs_are_served_offline(client, finance_viewer):
    client.force_login(finance_viewer)
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower()
    assert "/static/drf_spectacular_sidecar/" in page
