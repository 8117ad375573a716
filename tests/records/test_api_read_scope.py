"""Read grants of API tokens: the token's own connector and entities, unless granted wider reads."""

import pytest

from connectors.authentication import READ_ALL_SCOPE
from records.ingestion.services import Actor, ingest_records
from records.models import GLLine, RejectedRecord
from tests.connectors.helpers import bearer, gl_line, make_token
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


def ingest(source, entity, records):
    return ingest_records(source=source, entity=entity, records=records, actor=Actor(via="sync"))


@pytest.fixture
def erp():
    source = ConnectorFactory(name="ERP")
    ingest(
        source,
        "accounts",
        [{"external_id": "4000", "code": "4000", "name": "Revenue", "type": "revenue"}],
    )
    ingest(source, "gl_lines", [gl_line("erp-1"), gl_line("erp-2"), {"external_id": "erp-bad"}])
    return source


@pytest.fixture
def crm():
    source = ConnectorFactory(name="CRM")
    ingest(source, "gl_lines", [gl_line("crm-1"), {"external_id": "crm-bad"}])
    return source


def external_ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return sorted(row["external_id"] for row in response.json()["results"])


@pytest.fixture
def erp_reader(erp, crm):
    _, plaintext = make_token(erp, entities=["gl_lines"], can_read=True, can_write=False)
    return bearer(plaintext)


def test_a_read_token_lists_only_its_own_connectors_records(client, erp_reader):
    assert external_ids(client.get("/api/v1/gl_lines/", **erp_reader)) == ["erp-1", "erp-2"]
    assert external_ids(client.get("/api/v1/gl_lines/?source=crm", **erp_reader)) == []


def test_another_connectors_record_is_not_found(client, crm, erp_reader):
    line = GLLine.objects.get(source=crm, external_id="crm-1")
    response = client.get(f"/api/v1/gl_lines/{line.pk}/", **erp_reader)
    assert response.status_code == 404


def test_an_entity_the_token_does_not_allow_is_refused(client, erp_reader):
    response = client.get("/api/v1/accounts/", **erp_reader)
    assert response.status_code == 403
    assert response.json()["code"] == "entity_not_allowed"
    assert "accounts" in response.json()["detail"]


def test_batches_and_rejects_are_scoped_to_the_connector_and_its_entities(client, erp, erp_reader):
    batches = client.get("/api/v1/ingest-batches/", **erp_reader).json()["results"]
    assert batches
    assert {(batch["source"], batch["entity"]) for batch in batches} == {(erp.slug, "gl_lines")}
    assert RejectedRecord.objects.count() == 2
    response = client.get("/api/v1/rejected-records/", **erp_reader)
    assert external_ids(response) == ["erp-bad"]


def test_currencies_are_reference_data_for_every_read_token(client, erp_reader):
    assert client.get("/api/v1/currencies/", **erp_reader).status_code == 200


def test_computed_metrics_span_every_connector_so_need_wider_reads(client, erp, erp_reader):
    assert client.get("/api/v1/metrics/sales/", **erp_reader).status_code == 403
    _, wide = make_token(erp, name="bi", can_read=True, can_write=False, scopes=[READ_ALL_SCOPE])
    assert client.get("/api/v1/metrics/sales/", **bearer(wide)).status_code != 403


def test_a_token_granted_wider_reads_reads_every_connector_and_entity(client, erp, crm):
    _, plaintext = make_token(
        erp, name="bi", can_read=True, can_write=False, scopes=[READ_ALL_SCOPE]
    )
    wide = bearer(plaintext)
    assert external_ids(client.get("/api/v1/gl_lines/", **wide)) == ["crm-1", "erp-1", "erp-2"]
    assert external_ids(client.get("/api/v1/accounts/", **wide)) == ["4000"]
    assert len(client.get("/api/v1/rejected-records/", **wide).json()["results"]) == 2


def test_the_wider_read_scope_needs_the_read_grant(client, erp, crm):
    _, plaintext = make_token(erp, name="writer", can_read=False, scopes=[READ_ALL_SCOPE])
    assert client.get("/api/v1/gl_lines/", **bearer(plaintext)).status_code == 403


def test_session_users_are_not_scoped(client, erp, crm, finance_viewer):
    client.force_login(finance_viewer)
    assert external_ids(client.get("/api/v1/gl_lines/")) == ["crm-1", "erp-1", "erp-2"]


def test_the_principal_says_what_the_token_may_read(erp):
    from connectors.authentication import ApiTokenPrincipal

    narrow, _ = make_token(erp, entities=["gl_lines", "deals"], can_read=True)
    principal = ApiTokenPrincipal(narrow)
    assert principal.read_source_ids == {erp.pk}
    assert principal.read_entities == {"gl_lines", "deals"}
    assert principal.has_perm("records.view_glline")
    assert not principal.has_perm("core.view_dashboards")

    wide, _ = make_token(erp, name="bi", can_read=True, scopes=[READ_ALL_SCOPE])
    principal = ApiTokenPrincipal(wide)
    assert principal.read_source_ids is None and principal.read_entities is None
    assert principal.has_perm("core.view_dashboards")
