"""Write validated rows set-based: one upsert statement per request, not a query per row.

PostgreSQL: the rows are COPYed into a temporary staging table, then
``INSERT … SELECT … ON CONFLICT (source_id, external_id) DO UPDATE … RETURNING``, whose
result says which rows were inserted or updated. SQLite: one read of the stored hashes, then
``executemany`` of ``INSERT … VALUES … ON CONFLICT … DO UPDATE`` for the new and changed
rows. Everything else — reference lookups, row hashes, the conflict clause, pending
resolution — is shared.

A row whose canonical values hash the same as the stored row is *unchanged* and not
rewritten; a row whose source ``updated_at`` is older than the stored one is *stale*, not
written either, and counted as unchanged (the ``WHERE`` of the ``DO UPDATE`` decides both,
so concurrent requests cannot break the rule).

SQL is assembled from model metadata only (table and column names, quoted); every value
travels as a COPY row or a query parameter. Hence the ``noqa: S608`` below.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery

from .entities import ENTITIES, EntitySpec, referrers

CHUNK = 5000
UTC = dt.UTC


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_ids: tuple[str, ...] = ()
    # external_id -> "created" | "updated" | "unchanged"
    outcomes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    name: str  # database column
    key: str  # key of the value in a prepared row dict
    nullable: bool = False


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _hash_rows(spec: EntitySpec, rows: list[dict]) -> None:
    """Fingerprint each row's canonical values (references by external id, not by pk)."""
    canonical = itemgetter("updated_at", *(f.name for f in spec.fields))
    blake2b = hashlib.blake2b
    for row in rows:
        row["_hash"] = blake2b(repr(canonical(row)).encode(), digest_size=16).hexdigest()


def reference_scope(source) -> list[int]:
    """The connectors a reference from ``source`` may point into, in order of precedence:
    its own records first, then those of its ``reference_sources``."""
    return [source.pk, *source.reference_sources.values_list("pk", flat=True)]


def _lookup(spec_name: str, scope: list[int], external_ids: Iterable[str]) -> dict[str, int]:
    """external_id -> pk of live records in ``scope``; an id found in several connectors
    resolves to the earliest connector of the scope."""
    model = ENTITIES[spec_name].model
    rank = {source_id: position for position, source_id in enumerate(scope)}
    found: dict[str, tuple[int, int]] = {}
    for part in _chunks(sorted(external_ids)):
        for ext, pk, source_id in model.objects.filter(
            source_id__in=scope, external_id__in=part
        ).values_list("external_id", "pk", "source_id"):
            if ext not in found or rank[source_id] < found[ext][0]:
                found[ext] = (rank[source_id], pk)
    return {ext: pk for ext, (_, pk) in found.items()}


def _columns(spec: EntitySpec) -> list[Column]:
    """The written columns and where each one's value sits in a prepared row."""
    meta = spec.model._meta
    columns = [
        Column("external_id", "external_id"),
        Column("source_updated_at", "updated_at", nullable=True),
        Column("row_hash", "_hash"),
    ]
    for f in spec.fields:
        if f.kind == "ref":
            columns.append(Column(meta.get_field(f"{f.name}_external_id").column, f"{f.name}:ext"))
            columns.append(Column(meta.get_field(f.name).column, f"{f.name}:id", nullable=True))
        else:
            field = meta.get_field(f.attr)
            columns.append(Column(field.column, f.name, nullable=field.null))
    return columns


def _prepare(spec: EntitySpec, rows: list[dict], refs: dict[str, dict[str, int]], fixed) -> None:
    """Put every written value in the row under its column's key (resolved references
    included), so writing is a plain projection of each row."""
    for f in spec.refs:
        found = refs[f.name]
        name, ext_key, id_key = f.name, f"{f.name}:ext", f"{f.name}:id"
        for row in rows:
            value = row[name]
            row[ext_key] = value or ""
            row[id_key] = found.get(value) if value else None
    for row in rows:
        row.update(fixed)


def upsert_rows(*, spec: EntitySpec, source, rows: list[dict], batch_id: int, now) -> WriteCounts:
    """Insert or update ``rows`` (cleaned values by field name) of ``source``."""
    counts = WriteCounts()
    if not rows:
        return counts
    scope = reference_scope(source) if spec.refs else []
    refs = {
        f.name: _lookup(f.target, scope, {r[f.name] for r in rows if r[f.name]}) for f in spec.refs
    }
    _hash_rows(spec, rows)

    # Keys with a colon never clash with an entity's field names (a deal has "created_at").
    fixed = {":source": source.pk, ":batch": batch_id, ":now": now, ":live": None}
    columns = [
        *_columns(spec),
        Column("source_id", ":source"),
        Column("last_batch_id", ":batch", nullable=True),
        Column("created_at", ":now"),
        # The row's own write time; the source's time is source_updated_at.
        Column("updated_at", ":now"),
        # A record the source sends again is live again, even if it was deleted before.
        Column("deleted_at", ":live", nullable=True),
    ]
    _prepare(spec, rows, refs, fixed)
    names = [c.name for c in columns]
    table = spec.model._meta.db_table
    qn = connection.ops.quote_name
    updatable = [n for n in names if n not in ("external_id", "source_id", "created_at")]
    conflict = (
        f"ON CONFLICT ({qn('source_id')}, {qn('external_id')}) DO UPDATE SET "
        + ", ".join(f"{qn(n)} = EXCLUDED.{qn(n)}" for n in updatable)
        + f" WHERE ({qn(table)}.{qn('row_hash')} <> EXCLUDED.{qn('row_hash')}"
        f" OR {qn(table)}.{qn('deleted_at')} IS NOT NULL)"
        f" AND ({qn(table)}.{qn('source_updated_at')} IS NULL"
        f" OR EXCLUDED.{qn('source_updated_at')} IS NULL"
        f" OR EXCLUDED.{qn('source_updated_at')} >= {qn(table)}.{qn('source_updated_at')})"
    )

    if connection.vendor == "postgresql":
        # The database tells what it did: xmax = 0 marks a fresh insert; rows it skipped
        # (same hash, or older than stored) are not returned.
        returned = _write_postgresql(table, columns, rows, conflict)
        created = [ext for ext, inserted in returned if inserted]
        counts.outcomes = dict.fromkeys((r["external_id"] for r in rows), "unchanged")
        counts.outcomes.update((ext, "created" if ins else "updated") for ext, ins in returned)
        counts.created = len(created)
        counts.created_ids = tuple(created)
        counts.updated = len(returned) - len(created)
        counts.unchanged = len(rows) - len(returned)
        return counts

    # Elsewhere: read the stored hashes first, then write only new and changed rows.
    stored: dict[str, tuple[str, Any]] = {}
    for part in _chunks([r["external_id"] for r in rows]):
        for ext, row_hash, updated_at, deleted_at in spec.model.all_objects.filter(
            source=source, external_id__in=part
        ).values_list("external_id", "row_hash", "source_updated_at", "deleted_at"):
            # A deleted record never counts as unchanged: re-sending it revives it.
            stored[ext] = (row_hash if deleted_at is None else "", updated_at)
    to_write = []
    created = []
    outcomes = counts.outcomes
    for row in rows:
        ext = row["external_id"]
        old = stored.get(ext)
        if old is None:
            created.append(ext)
            to_write.append(row)
            outcomes[ext] = "created"
        elif old[0] == row["_hash"] or (
            old[1] is not None and row["updated_at"] is not None and row["updated_at"] < old[1]
        ):
            counts.unchanged += 1
            outcomes[ext] = "unchanged"
        else:
            counts.updated += 1
            to_write.append(row)
            outcomes[ext] = "updated"
    counts.created = len(created)
    counts.created_ids = tuple(created)
    if to_write:
        _write_executemany(table, columns, to_write, conflict)
    return counts


# --- PostgreSQL: COPY into a staging table, then one INSERT … SELECT … ON CONFLICT -----------


def _write_postgresql(table, columns, rows, conflict) -> list[tuple[str, bool]]:
    """COPY (CSV) into a temporary staging table, then one INSERT … SELECT … ON CONFLICT.

    The csv module writes the rows in C: text is always quoted (so an empty string stays
    an empty string), numbers are not, and an absent value (None) becomes "" which
    FORCE_NULL turns into NULL on the nullable columns — the only ones that can hold None.
    """
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c.name) for c in columns)
    nullable = ", ".join(qn(c.name) for c in columns if c.nullable)
    stage = f"ingest_stage_{uuid.uuid4().hex[:12]}"
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerows(map(itemgetter(*(c.key for c in columns)), rows))
    buffer.seek(0)
    options = f"FORMAT csv, FORCE_NULL ({nullable})" if nullable else "FORMAT csv"
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} AS SELECT {cols} FROM {qn(table)} WITH NO DATA"  # noqa: S608
        )
        cursor.cursor.copy_expert(f"COPY {stage} ({cols}) FROM STDIN WITH ({options})", buffer)
        cursor.execute(
            f"INSERT INTO {qn(table)} ({cols}) SELECT {cols} FROM {stage} "  # noqa: S608
            f"{conflict} RETURNING {qn('external_id')}, (xmax = 0)"
        )
        returned = cursor.fetchall()
        cursor.execute(f"DROP TABLE {stage}")
    return returned


# --- SQLite (and any other backend): executemany INSERT … ON CONFLICT DO UPDATE -----------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _write_executemany(table, columns, rows, conflict) -> None:
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c.name) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    keys = [c.key for c in columns]
    params = [[_sqlite_value(row[k]) for k in keys] for row in rows]
    with connection.cursor() as cursor:
        sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks}) {conflict}"  # noqa: S608
        cursor.executemany(sql, params)


# --- pending references ----------------------------------------------------------------------


def resolve_pending(*, entity: str, source, external_ids: Iterable[str]) -> int:
    """Point rows that were waiting for these newly arrived records at them (set-based):
    rows of ``source`` itself and of the connectors that name it as a reference source."""
    ids = sorted(set(external_ids))
    if not ids:
        return 0
    target = ENTITIES[entity].model
    referring = [source.pk, *source.referenced_by.values_list("pk", flat=True)]
    resolved = 0
    for spec, f in referrers(entity):
        for part in _chunks(ids):
            # The filter repeats the pending index's predicate so the planner can use it.
            resolved += (
                spec.model.all_objects.filter(
                    source_id__in=referring,
                    **{f"{f.name}__isnull": True, f"{f.name}_external_id__in": part},
                )
                .exclude(**{f"{f.name}_external_id": ""})
                .update(
                    **{
                        f.name: Subquery(
                            target.objects.filter(
                                source=source, external_id=OuterRef(f"{f.name}_external_id")
                            ).values("pk")[:1]
                        )
                    }
                )
            )
    return resolved
