"""Write generated canonical rows straight into the database, for benchmarks only.

Benchmarks need millions of rows in minutes, so this skips HTTP, validation and the audit
batch: COPY on PostgreSQL, ``bulk_create`` elsewhere, references resolved from in-memory id
maps. Nothing else writes this way: the demo's data arrives through the connectors' syncs
and every other write goes through ``services.ingest_records``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone

from records.models.base import SourcedRecord
from records.signals import records_changed

from .entities import ENTITIES, Row
from .upsert import concrete_field, resolve_pending

if TYPE_CHECKING:
    from connectors.models import Connector

# One row as the table stores it: model attribute name (attname) -> value.
TableRow = dict[str, object]


def _copy_value(value: object) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


def bulk_insert(model: type[SourcedRecord], rows: list[TableRow], chunk: int = 200_000) -> None:
    """Insert plain rows (attname → value; other fields take their defaults): COPY on
    PostgreSQL, ``bulk_create`` elsewhere."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    if connection.vendor != "postgresql":
        for offset in range(0, len(rows), chunk):
            model.all_objects.bulk_create(
                [model(**{**defaults, **row}) for row in rows[offset : offset + chunk]],
                batch_size=5000,
            )
        return
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        for offset in range(0, len(rows), chunk):
            buffer = io.StringIO()
            for row in rows[offset : offset + chunk]:
                values = (row.get(f.attname, defaults[f.attname]) for f in fields)
                buffer.write("\t".join(_copy_value(value) for value in values))
                buffer.write("\n")
            buffer.seek(0)
            cursor.cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)


def _analyze(model: type[SourcedRecord]) -> None:
    """Give PostgreSQL statistics of a table just filled by COPY: without them the planner
    takes it for empty and resolves self references with a scan per row (minutes for 200,000
    contacts instead of seconds)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _ids(model: type[SourcedRecord], source: Connector) -> dict[str, int]:
    return dict(model.all_objects.filter(source=source).values_list("external_id", "pk"))


def records_bulk_load(
    records: Mapping[str, Sequence[Row]],
    *,
    source: Connector,
    entities: Iterable[str] | None = None,
) -> dict[str, int]:
    """Insert canonical records (entity name -> records with the push API's field names and
    Python values, referenced entities first) under one connector ``source``: all entities,
    or only ``entities``. Returns rows inserted per entity. References to entities not
    loaded stay pending, as they would through the API."""
    chosen = None if entities is None else set(entities)
    wanted = [e for e in records if chosen is None or e in chosen]
    now = timezone.now()
    ids: dict[str, dict[str, int]] = {}
    inserted: dict[str, int] = {}
    with transaction.atomic():
        for entity in wanted:
            spec = ENTITIES[entity]
            plain = [
                (f.name, concrete_field(spec.model, f.attr).attname)
                for f in spec.fields
                if f.kind != "ref"
            ]
            refs = [(f.name, f.target) for f in spec.refs]
            rows: list[TableRow] = []
            for record in records[entity]:
                row: TableRow = {
                    "source_id": source.pk,
                    "external_id": record["external_id"],
                    "source_updated_at": record.get("updated_at"),
                    "created_at": now,
                    "updated_at": now,
                }
                for name, attname in plain:
                    value = record.get(name)
                    if value is not None:
                        row[attname] = value
                for name, target in refs:
                    value = record.get(name) or ""
                    row[f"{name}_external_id"] = value
                    row[f"{name}_id"] = ids.get(target, {}).get(value) if value else None
                rows.append(row)
            bulk_insert(spec.model, rows)
            inserted[entity] = len(rows)
            if rows:  # every month: the metrics recompute whatever reads the table
                records_changed.send(sender=spec.model, months=None)
            if any(target == entity for _, target in refs) or any(
                f.target == entity for s in ENTITIES.values() for f in s.refs
            ):
                ids[entity] = _ids(spec.model, source)
            # Self references (a department's parent, a person's account contact).
            if any(target == entity for _, target in refs):
                _analyze(spec.model)
                resolve_pending(entity=entity, source=source, external_ids=ids[entity])
    return inserted
