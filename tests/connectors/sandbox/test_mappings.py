"""The FinHub-side sync_config of each sandbox system maps source shapes back to canonical."""

import pytest

from connectors.models import Connector
from connectors.sandbox.company import ENTITY_ORDER
from connectors.sandbox.mappings import (
    SANDBOX_CREDENTIALS,
    SANDBOX_SYSTEMS,
    demo_connector_values,
)
from connectors.sandbox.shapes import RECONCILE_FIELDS, RESOURCE_MAP, RESOURCES, to_source
from connectors.sync import reconcile
from connectors.sync.mapping import is_tombstone, mapping_apply, mapping_validate

from .helpers import fetch_all


def _blank(value):
    return value is None or value == ""


@pytest.mark.parametrize("system", list(SANDBOX_SYSTEMS))
def test_sync_config_is_valid_and_in_dependency_order(system):
    spec = SANDBOX_SYSTEMS[system]
    assert mapping_validate(spec["sync_config"]) == []
    entities = [e["entity"] for e in spec["sync_config"]["entities"]]
    assert entities == sorted(entities, key=ENTITY_ORDER.index)
    assert spec["kind"] in Connector.Kind.values
    assert spec["auth_type"] in Connector.AuthType.values
    assert spec["pagination"] in Connector.Pagination.values
    assert spec["credentials"] == SANDBOX_CREDENTIALS[system]


def test_every_entity_is_served_once():
    assert sorted(r.entity for r in RESOURCES) == sorted(ENTITY_ORDER)


def test_the_sandbox_totals_what_finhub_reconciles():
    # The Django-free sandbox keeps its own copy of the contract: the two must agree.
    assert RECONCILE_FIELDS == reconcile.RECONCILE_FIELDS


def test_mapping_a_source_record_gives_back_the_canonical_row(sandbox_session):
    company = sandbox_session.company
    for system, spec in SANDBOX_SYSTEMS.items():
        for config in spec["sync_config"]["entities"]:
            resource = RESOURCE_MAP[(system, config["resource"])]
            for row in company.entities[config["entity"]]:
                mapped, errors = mapping_apply(config, to_source(resource, row))
                assert errors == {}
                assert mapped == {k: v for k, v in row.items() if not _blank(v)}, (system, row)


def test_round_trip_over_http_and_tombstones(sandbox):
    deleted = sandbox.mutate("billing", "subscription-events", delete=1)["deleted"]
    config = SANDBOX_SYSTEMS["billing"]["sync_config"]["entities"][1]
    records, _ = fetch_all(sandbox, "billing", "subscription-events", size=100)
    live = {r["external_id"]: r for r in sandbox.live_rows("billing", "subscription-events")}
    for record in records:
        if is_tombstone(config, record):
            assert record["id"] in deleted
            continue
        mapped, errors = mapping_apply(config, record)
        assert errors == {}
        row = live[record["id"]]
        assert mapped == {k: v for k, v in row.items() if not _blank(v)}


def test_demo_connector_values():
    values = demo_connector_values("http://127.0.0.1:8765/", "erp")
    assert values["base_url"] == "http://127.0.0.1:8765/erp/v1"
    assert values["token_url"] == "http://127.0.0.1:8765/erp/oauth/token"
    assert values["auth_type"] == Connector.AuthType.OAUTH2
    assert values["transport"] == Connector.Transport.REST_PULL
    assert values["credentials"] == {"client_id": "finhub", "client_secret": "sandbox-erp-secret"}
    field_names = {f.name for f in Connector._meta.get_fields()}
    assert set(values) - {"credentials"} <= field_names
    marketing = demo_connector_values("http://127.0.0.1:8765", "marketing")
    assert marketing["auth_header_name"] == "X-Api-Key" and marketing["token_url"] == ""
