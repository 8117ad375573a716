"""Shared helpers of the sync tests: connectors pointing at the sandbox, runs, comparisons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from connectors.credentials import credentials_set
from connectors.models import Connector, SyncRun
from connectors.sandbox.mappings import demo_connector_values
from connectors.sandbox.server import SYSTEMS
from connectors.sync.engine import sync_run_execute
from connectors.sync.reconcile import reconcile_fields
from records.ingestion.entities import ENTITIES


def sandbox_connector(sandbox, system: str, *, entities=None, page_size=None, **fields):
    """A REST connector for one sandbox system, credentials encrypted like the admin does.

    ``entities`` keeps only those canonical entities of the system's sync_config (in order).
    """
    values = demo_connector_values(sandbox.url, system)
    credentials = values.pop("credentials")
    config = values["sync_config"]
    if entities is not None:
        config = {"entities": [e for e in config["entities"] if e["entity"] in entities]}
    if page_size is not None:
        config = {**config, "page_size": page_size}
    values["sync_config"] = config
    values["name"] = fields.pop("name", values["name"])
    values.update(fields)
    connector = Connector.objects.create(**values)
    credentials_set(connector, credentials)
    return connector


def run_sync(connector, *, mode="incremental", trigger="manual", after_page=None, **kwargs):
    run = SyncRun.objects.create(connector=connector, trigger=trigger, mode=mode, **kwargs)
    return sync_run_execute(run.pk, after_page=after_page)


def resource_of(connector, entity: str) -> str:
    for item in connector.sync_config["entities"]:
        if item["entity"] == entity:
            return item["resource"]
    raise KeyError(entity)


def system_of(connector) -> str:
    for system, (prefix, _, _) in SYSTEMS.items():
        if connector.base_url.endswith(prefix):
            return system
    raise KeyError(connector.base_url)


def source_summary(sandbox, connector, entity: str) -> tuple[int, Decimal | None]:
    """(live count, amount sum to the cent) of the entity in the source."""
    rows = sandbox.live_rows(system_of(connector), resource_of(connector, entity))
    _, amount = reconcile_fields(entity)
    total = sum((Decimal(str(r[amount])) for r in rows), Decimal("0")) if amount else None
    return len(rows), total.quantize(Decimal("0.01")) if total is not None else None


def finhub_summary(connector, entity: str) -> tuple[int, Decimal | None]:
    """(live count, amount sum to the cent) of the entity in FinHub for this source."""
    spec = ENTITIES[entity]
    rows = spec.model.objects.filter(source=connector)
    _, amount = reconcile_fields(entity)
    if amount is None:
        return rows.count(), None
    attr = spec.field_map[amount].attr
    total = sum((getattr(r, attr) or Decimal("0") for r in rows), Decimal("0"))
    return rows.count(), total.quantize(Decimal("0.01"))


def assert_equals_source(sandbox, connector) -> None:
    """Every configured entity: FinHub's live records equal the source's (ids, count, sum)."""
    for item in connector.sync_config["entities"]:
        entity = item["entity"]
        ids = {r["external_id"] for r in sandbox.live_rows(system_of(connector), item["resource"])}
        stored = set(
            ENTITIES[entity]
            .model.objects.filter(source=connector)
            .values_list("external_id", flat=True)
        )
        assert stored == ids, f"{entity}: {len(stored ^ ids)} ids differ"
        assert finhub_summary(connector, entity) == source_summary(sandbox, connector, entity), (
            entity
        )


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)
