"""Write validated rows set-based: one upsert statement per request, not a query per row.

PostgreSQL: the rows are COPYed into a temporary staging table, then
``INSERT … SELECT … ON CONFLICT (source_id, external_id) DO UPDATE … RETURNING``, whose
result says which rows were inserted or updated. SQLite: one read of the stored hashes, then
``executemany`` of ``INSERT … VALUES … ON CONFLICT … DO UPDATE`` for the new and changed
rows. Everything else — reference lookups, row hashes, the conflict clause, pending
resolution — is shared.

A row whose canonical values hash the same as the stored row is *unchanged* and not
rewritten — unless the stored row still waits for a reference this request resolves; a row
whose source ``updated_at`` is older than the stored one is *stale*, not written either, and
counted as unchanged (the ``WHERE`` of the ``DO UPDATE`` decides, so concurrent requests
cannot break the rule).

Concurrency: rows are written in natural-key order (``external_id``, byte order), and
pending references are resolved by locking the referring rows in that same order, so two
batches never wait for each other's rows in opposite orders (the cause of deadlocks).
A reference looked up while its target's transaction had not committed yet is left pending
by both transactions; ``pending_settle`` runs after the commit and closes that window (see
its docstring for why one of the two always sees the other).

SQL is assembled from model metadata only (table and column names, quoted); every value
travels as a COPY row or a query parameter. Hence the ``noqa: S608`` below.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    Field,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Collate

from records.models.base import SourcedRecord
from records.signals import records_changed

from .entities import ENTITIES, EntitySpec, FieldSpec, Row, referrers
from .retry import run_with_retry

if TYPE_CHECKING:
    from connectors.models import Connector

_T = TypeVar("_T")

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
    # Reference field -> external ids of this request's rows whose target was not found.
    pending: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Column:
    name: str  # database column
    key: str  # key of the value in a prepared row dict
    nullable: bool = False


def _chunks(items: Sequence[_T], size: int = CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _hash_rows(spec: EntitySpec, rows: list[Row]) -> None:
    """Fingerprint each row's canonical values (references by external id, not by pk)."""
    canonical = itemgetter("updated_at", *(f.name for f in spec.fields))
    blake2b = hashlib.blake2b
    for row in rows:
        row["_hash"] = blake2b(repr(canonical(row)).encode(), digest_size=16).hexdigest()


def reference_scope(source: Connector) -> list[int]:
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
    columns = [
        Column("external_id", "external_id"),
        Column("source_updated_at", "updated_at", nullable=True),
        Column("row_hash", "_hash"),
    ]
    for f in spec.fields:
        if f.kind == "ref":
            ext_column = concrete_field(spec.model, f"{f.name}_external_id").column
            columns.append(Column(ext_column, f"{f.name}:ext"))
            id_column = concrete_field(spec.model, f.name).column
            columns.append(Column(id_column, f"{f.name}:id", nullable=True))
        else:
            model_field = concrete_field(spec.model, f.attr)
            columns.append(Column(model_field.column, f.name, nullable=model_field.null))
    return columns


def concrete_field(model: type[SourcedRecord], name: str) -> Field[Any, Any]:
    """The model field ``name``, a column of the model's table (not a reverse relation)."""
    model_field = model._meta.get_field(name)
    if not isinstance(model_field, Field) or not model_field.concrete:
        raise TypeError(f"{model.__name__}.{name} is not a column of its table")
    return model_field


def _prepare(
    spec: EntitySpec, rows: list[Row], refs: dict[str, dict[str, int]], fixed: Row
) -> None:
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


def upsert_rows(
    *, spec: EntitySpec, source: Connector, rows: list[Row], batch_id: int, now: dt.datetime
) -> WriteCounts:
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
    fixed: Row = {":source": source.pk, ":batch": batch_id, ":now": now, ":live": None}
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
    # Natural-key order (code points, as the database's "C" collation): every writer of the
    # table locks its rows in the same order, so concurrent batches cannot deadlock.
    rows = sorted(rows, key=itemgetter("external_id"))
    for f in spec.refs:
        id_key = f"{f.name}:id"
        waiting = tuple(r["external_id"] for r in rows if r[f.name] and r[id_key] is None)
        if waiting:
            counts.pending[f.name] = waiting
    names = [c.name for c in columns]
    table = spec.model._meta.db_table
    qn = connection.ops.quote_name
    updatable = [n for n in names if n not in ("external_id", "source_id", "created_at")]
    # A stored row whose reference is pending while this request found its target is
    # rewritten (and counted as updated) even with the same hash: a re-send repairs it.
    repairs = "".join(
        f" OR ({qn(table)}.{qn(c.name)} IS NULL AND EXCLUDED.{qn(c.name)} IS NOT NULL)"
        for c in columns
        if c.key.endswith(":id")
    )
    conflict = (
        f"ON CONFLICT ({qn('source_id')}, {qn('external_id')}) DO UPDATE SET "
        + ", ".join(f"{qn(n)} = EXCLUDED.{qn(n)}" for n in updatable)
        + f" WHERE ({qn(table)}.{qn('row_hash')} <> EXCLUDED.{qn('row_hash')}"
        f" OR {qn(table)}.{qn('deleted_at')} IS NOT NULL{repairs})"
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
    ref_ids = [f"{f.name}_id" for f in spec.refs]
    stored: dict[str, tuple[str, Any, list[Any]]] = {}
    for part in _chunks([r["external_id"] for r in rows]):
        for ext, row_hash, updated_at, deleted_at, *stored_refs in spec.model.all_objects.filter(
            source=source, external_id__in=part
        ).values_list("external_id", "row_hash", "source_updated_at", "deleted_at", *ref_ids):
            # A deleted record never counts as unchanged: re-sending it revives it; nor does
            # one whose pending reference this request resolves (marked by its ref ids).
            stored[ext] = (row_hash if deleted_at is None else "", updated_at, stored_refs)
    ref_keys = [f"{f.name}:id" for f in spec.refs]
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
        elif (
            old[0] == row["_hash"]
            and not any(
                was is None and row[k] is not None for was, k in zip(old[2], ref_keys, strict=True)
            )
        ) or (old[1] is not None and row["updated_at"] is not None and row["updated_at"] < old[1]):
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


def _write_postgresql(
    table: str, columns: list[Column], rows: list[Row], conflict: str
) -> list[tuple[str, bool]]:
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
            # ORDER BY: the rows are inserted, and their conflicts locked, in natural-key order.
            f"INSERT INTO {qn(table)} ({cols}) SELECT {cols} FROM {stage} "  # noqa: S608
            f'ORDER BY {qn("external_id")} COLLATE "C" '
            f"{conflict} RETURNING {qn('external_id')}, (xmax = 0)"
        )
        returned: list[tuple[str, bool]] = cursor.fetchall()
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


def _write_executemany(table: str, columns: list[Column], rows: list[Row], conflict: str) -> None:
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c.name) for c in columns)
    marks = ", ".join(["%s"] * len(columns))
    keys = [c.key for c in columns]
    params = [[_sqlite_value(row[k]) for k in keys] for row in rows]
    with connection.cursor() as cursor:
        sql = f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks}) {conflict}"  # noqa: S608
        cursor.executemany(sql, params)


# --- pending references ----------------------------------------------------------------------


def resolve_pending(*, entity: str, source: Connector, external_ids: Iterable[str]) -> int:
    """Point rows that were waiting for these records of ``source`` at them (set-based):
    rows of ``source`` itself and of the connectors that name it as a reference source,
    each resolved in its own reference scope."""
    ids = sorted(set(external_ids))
    fields = referrers(entity)
    if not ids or not fields:
        return 0
    resolved = 0
    for referring in (source, *source.referenced_by.all()):
        scope = reference_scope(referring)
        for spec, f in fields:
            for part in _chunks(ids):
                resolved += _resolve(
                    spec,
                    f,
                    referring=referring.pk,
                    scope=scope,
                    only=Q(**{f"{f.name}_external_id__in": part}),
                )
    return resolved


def resolve_own_pending(
    *, spec: EntitySpec, source: Connector, pending: Mapping[str, Sequence[str]]
) -> int:
    """Resolve the references of ``source``'s rows of ``spec`` that were written pending:
    ``pending`` maps a reference field to those rows' external ids."""
    if not any(pending.values()):
        return 0
    scope = reference_scope(source)
    resolved = 0
    for f in spec.refs:
        for part in _chunks(sorted(pending.get(f.name, ()))):
            resolved += _resolve(
                spec, f, referring=source.pk, scope=scope, only=Q(external_id__in=part)
            )
    return resolved


def pending_settle(
    *,
    spec: EntitySpec,
    source: Connector,
    external_ids: Sequence[str],
    pending: Mapping[str, Sequence[str]],
) -> int:
    """After a write committed: resolve the references it left pending, and the references
    that were waiting for the records it wrote. Returns how many it resolved.

    Why this closes the race: a referring row R is left pending when R's transaction looked
    its target T up before T's transaction committed. Each of the two transactions runs this
    after its own commit, and each statement here reads what was committed when it started.
    If R's pass starts after T's commit, it finds T and resolves R; otherwise R's pass
    started before T committed, so T's pass starts after R's commit (R committed before its
    own pass) and finds R pending on T's external id. Either way R ends resolved.
    Each resolution runs in short transactions of its own (retried on a conflict); a crash
    between the commit and this pass is repaired by ``resolve_all_pending``.
    """

    def settle() -> int:
        return resolve_own_pending(spec=spec, source=source, pending=pending) + resolve_pending(
            entity=spec.name, source=source, external_ids=external_ids
        )

    return run_with_retry(settle)


def resolve_all_pending(*, dry_run: bool = False) -> dict[tuple[str, str], int]:
    """Every pending reference whose target exists now, resolved (or only counted with
    ``dry_run``): (entity, field) -> how many rows. The backstop of ``pending_settle``."""
    from connectors.models import Connector

    fixed: dict[tuple[str, str], int] = {}
    for spec in ENTITIES.values():
        for f in spec.refs:
            waiting = _pending(spec, f).values_list("source_id", flat=True).order_by().distinct()
            for referring in Connector.objects.filter(pk__in=waiting).order_by("pk"):
                scope = reference_scope(referring)
                count = run_with_retry(
                    partial(
                        _resolve,
                        spec,
                        f,
                        referring=referring.pk,
                        scope=scope,
                        only=Q(),
                        dry_run=dry_run,
                    )
                )
                if count:
                    key = (spec.name, f.name)
                    fixed[key] = fixed.get(key, 0) + count
    return fixed


def pending_q(field_name: str) -> Q:
    """Rows whose reference ``field_name`` names a record not found (yet): the pending
    index's predicate, so the planner can use it."""
    return Q(**{f"{field_name}__isnull": True}) & ~Q(**{f"{field_name}_external_id": ""})


def pending_rows(spec: EntitySpec, field_name: str) -> QuerySet[SourcedRecord]:
    """The rows of ``spec`` (deleted ones included) whose reference ``field_name`` is pending."""
    return spec.model.all_objects.filter(pending_q(field_name))


def _pending(spec: EntitySpec, f: FieldSpec) -> QuerySet[SourcedRecord]:
    return pending_rows(spec, f.name)


def _resolve(
    spec: EntitySpec,
    f: FieldSpec,
    *,
    referring: int,
    scope: Sequence[int],
    only: Q,
    dry_run: bool = False,
) -> int:
    """Point the rows of connector ``referring`` whose reference ``f`` is pending (and that
    match ``only``) at their target where it exists now in ``scope`` — the earliest
    connector of the scope first, as the upsert's lookup does.

    Chunk by chunk (by primary key), each in a transaction that locks its rows in natural-key
    order first, as upserts do: resolving never deadlocks with a batch writing those rows.
    """
    target = ENTITIES[f.target].model
    matches = target.objects.filter(
        source_id__in=scope, external_id=OuterRef(f"{f.name}_external_id")
    )
    if len(scope) > 1:
        rank = Case(
            *(When(source_id=pk, then=Value(position)) for position, pk in enumerate(scope)),
            output_field=IntegerField(),
        )
        matches = matches.annotate(scope_rank=rank).order_by("scope_rank")
    pending = _pending(spec, f).filter(only, Exists(matches), source_id=referring)
    if dry_run:
        return pending.count()
    natural = (
        Collate(F("external_id"), "C") if connection.vendor == "postgresql" else F("external_id")
    )
    resolved = 0
    after = 0
    while True:
        chunk = list(
            pending.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:CHUNK]
        )
        if not chunk:
            return resolved
        after = chunk[-1]
        with transaction.atomic():
            locked = list(
                _pending(spec, f)
                .filter(pk__in=chunk)
                .order_by(natural.asc())
                .select_for_update()
                .values_list("pk", flat=True)
            )
            count = (
                spec.model.all_objects.filter(pk__in=locked)
                .filter(Exists(matches))
                .update(**{f.name: Subquery(matches.values("pk")[:1])})
            )
            if count:
                # Rows now count where they did not (a ledger line under its account):
                # rare enough to have the metrics recompute every month of the table.
                records_changed.send(sender=spec.model, months=None)
            resolved += count
        if len(chunk) < CHUNK:
            return resolved
