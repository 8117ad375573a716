"""Customer segment / CS owner and the GL line's initiative tag (#12) through the push API
and the signed webhook: stored, per-field errors, pending tag resolved on arrival."""

import json

import pytest

from connectors.services import connector_webhook_secret_rotate
from connectors.webhooks import signature_header
from records.models import Customer, GLLine, Initiative
from tests.connectors.helpers import gl_line, make_token, post_json, reset_throttles
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles():
    reset_throttles()
    yield
    reset_throttles()


@pytest.fixture
def token():
    return make_token(entities=("customers", "gl_lines", "accounts", "initiatives"))


def deliver(client, connector, secret, entity, data, event_id="evt-1"):
    body = json.dumps({"id": event_id, "type": entity, "data": data}).encode()
    return client.post(
        f"/api/v1/webhooks/{connector.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_FINHUB_SIGNATURE=signature_header(secret=secret, body=body),
    )


def test_push_stores_segment_and_owner_and_reports_field_errors(client, token):
    _, plaintext = token
    response = post_json(
        client,
        "/api/v1/ingest/customers/",
        [
            {"external_id": "c-1", "name": "Acme", "segment": "Enterprise", "cs_owner": "Priya"},
            {"external_id": "c-2", "name": "Initech", "segment": "S" * 51},
        ],
        token=plaintext,
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["created"], body["rejected"]) == (1, 1)
    (error,) = body["errors"]
    assert error["external_id"] == "c-2"
    assert error["errors"] == {"segment": ["Ensure this field has no more than 50 characters."]}
    stored = Customer.objects.get()
    assert (stored.segment, stored.cs_owner) == ("Enterprise", "Priya")


def test_push_tags_gl_lines_pending_until_the_initiative_arrives(client, token):
    _, plaintext = token
    accounts = [{"external_id": "4000", "code": "4000", "name": "Contractors", "type": "expense"}]
    assert (
        post_json(client, "/api/v1/ingest/accounts/", accounts, token=plaintext).status_code == 201
    )
    lines = post_json(
        client,
        "/api/v1/ingest/gl_lines/",
        [gl_line("gl-1", "5000.00", initiative="INI-1")],
        token=plaintext,
    )
    assert lines.status_code == 201, lines.json()
    assert lines.json()["rejected"] == 0
    assert GLLine.objects.get().initiative_id is None

    initiatives = post_json(
        client,
        "/api/v1/ingest/initiatives/",
        [{"external_id": "INI-1", "name": "Audit trail"}],
        token=plaintext,
    )
    assert initiatives.status_code == 201, initiatives.json()
    assert GLLine.objects.get().initiative == Initiative.objects.get()


def test_push_refuses_a_non_string_initiative_on_that_field(client, token):
    _, plaintext = token
    response = post_json(
        client,
        "/api/v1/ingest/gl_lines/",
        [gl_line("gl-1", initiative={"id": "INI-1"})],
        token=plaintext,
    )
    body = response.json()
    assert body["rejected"] == 1
    assert list(body["errors"][0]["errors"]) == ["initiative"]
    assert not GLLine.objects.exists()


def test_the_webhook_takes_segment_owner_and_the_initiative_tag(client):
    connector = ConnectorFactory(name="Billing")
    secret = connector_webhook_secret_rotate(connector=connector)
    response = deliver(
        client,
        connector,
        secret,
        "customers",
        [{"external_id": "c-1", "name": "Acme", "segment": "SMB", "cs_owner": "Noor Haddad"}],
    )
    assert response.status_code == 200, response.json()
    assert response.json()["result"]["created"] == 1
    stored = Customer.objects.get()
    assert (stored.source, stored.segment, stored.cs_owner) == (connector, "SMB", "Noor Haddad")

    deliver(
        client,
        connector,
        secret,
        "accounts",
        [{"external_id": "4000", "code": "4000", "name": "Contractors", "type": "expense"}],
        event_id="evt-2",
    )
    deliver(client, connector, secret, "gl_lines", [gl_line("gl-1", initiative="INI-3")], "evt-3")
    deliver(
        client,
        connector,
        secret,
        "initiatives",
        [{"external_id": "INI-3", "name": "SSO and SCIM"}],
        "evt-4",
    )
    line = GLLine.objects.get()
    assert (line.initiative.name, line.initiative_external_id) == ("SSO and SCIM", "INI-3")


def test_the_webhook_reports_a_bad_owner_on_its_field(client):
    connector = ConnectorFactory(name="Billing")
    secret = connector_webhook_secret_rotate(connector=connector)
    response = deliver(
        client,
        connector,
        secret,
        "customers",
        [{"external_id": "c-1", "name": "Acme", "cs_owner": "x" * 201}],
    )
    result = response.json()["result"]
    assert result["rejected"] == 1
    assert result["errors"][0]["errors"] == {
        "cs_owner": ["Ensure this field has no more than 200 characters."]
    }
    assert not Customer.objects.exists()


def test_the_schema_documents_the_new_fields(client, finance_viewer):
    client.force_login(finance_viewer)
    schema = client.get("/api/schema/?format=json").json()
    ingest = schema["paths"]["/api/v1/ingest/customers/"]["post"]["requestBody"]
    item = ingest["content"]["application/json"]["schema"]["items"]
    assert item["properties"]["segment"]["maxLength"] == 50
    assert item["properties"]["cs_owner"]["maxLength"] == 200
    assert not {"segment", "cs_owner"} & set(item["required"])
    lines = schema["paths"]["/api/v1/ingest/gl_lines/"]["post"]["requestBody"]
    gl_item = lines["content"]["application/json"]["schema"]["items"]
    assert "initiative" in gl_item["properties"]
    customers = schema["paths"]["/api/v1/customers/"]["get"]
    assert {"segment", "segment__in"} <= {p["name"] for p in customers["parameters"]}
