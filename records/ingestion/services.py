"""The ingestion engine's entry points: what the API, the admin import, connector syncs and
the rejected-record reprocessing call to write canonical data.

``ingest_records`` validates a request's records in bulk, upserts the valid ones by
``(source, external_id)`` in one transaction, keeps the invalid ones as ``RejectedRecord``
with field-level reasons, resolves references that were waiting for the new records, and
records who did it in an ``IngestBatch``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from records.models import IngestBatch, RejectedRecord
from records.models.base import SourcedRecord

from .changes import changes_announce_deletes, changes_announce_writes, date_attrs, stored_dates
from .deletes import deletion_batch_create
from .entities import ENTITIES, ENTITY_BY_MODEL, ENTITY_NAMES, EntitySpec, Row, field_docs, get_spec
from .locks import (
    adjustments_flag_deletes,
    adjustments_flag_writes,
    batch_locked_months,
    lock_watch_start,
    summary_attrs,
)
from .rejects import Reject, rejects_store
from .retry import WriteContention, run_with_retry
from .upsert import (
    pending_rows,
    pending_settle,
    resolve_all_pending,
    resolve_pending,
    upsert_rows,
)
from .validation import RowError, validate_records, validation_context

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from connectors.models import ApiToken, Connector

__all__ = [
    "ENTITY_NAMES",
    "MAX_RECORDS_PER_REQUEST",
    "Actor",
    "IngestRequestError",
    "IngestResult",
    "RowError",
    "WaitingReference",
    "WriteContention",
    "entity_field_docs",
    "ingest_records",
    "pending_references_resolve",
    "records_delete",
    "rejected_dismiss",
    "rejected_reprocess",
]

MAX_RECORDS_PER_REQUEST = 5000


@dataclass(frozen=True)
class Actor:
    """Who is writing: a user or an API token, the request id, and through what."""

    user: User | None = None
    api_token: ApiToken | None = None
    request_id: str = ""
    via: str = "api"  # "api" | "import" | "admin" | "sync" | "webhook" | "reprocess"


@dataclass(frozen=True)
class WaitingReference:
    """A stored row's reference whose target is not in FinHub yet: the row is kept and the
    reference resolves when that record arrives (until then the row counts nowhere it needs
    the target, e.g. a ledger line without its account)."""

    index: int  # position in the request
    external_id: str
    field: str
    reference: str  # the external_id named, not found in the connector's reference scope

    def as_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "external_id": self.external_id,
            "field": self.field,
            "reference": self.reference,
        }


@dataclass
class IngestResult:
    entity: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    batch_id: int | None = None
    # Rows written with at least one reference still pending, and each such reference.
    pending: int = 0
    waiting: list[WaitingReference] = field(default_factory=list)
    # Position in the request -> "created" | "updated" | "unchanged" for the valid rows.
    outcomes: dict[int, str] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, object]:
        return {
            "entity": self.entity,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "pending": self.pending,
            "batch_id": self.batch_id,
            "errors": [e.as_dict() for e in self.errors],
            "waiting": [w.as_dict() for w in self.waiting],
        }


class IngestRequestError(Exception):
    """The request as a whole is invalid; nothing was written.

    ``code`` is one of "unknown_entity", "not_a_list", "too_many_records",
    "duplicate_external_id", "atomic_rejected", "constraint_violation".
    ``errors`` is a list of RowError (or of plain request-level messages).
    """

    def __init__(
        self, code: str, message: str, errors: Sequence[RowError | str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors: Sequence[RowError | str] = errors or []

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "detail": self.message,
            "errors": [e.as_dict() if isinstance(e, RowError) else e for e in self.errors],
        }


class _DryRunRollback(Exception):
    pass


def entity_field_docs(entity: str) -> dict[str, dict[str, Any]]:
    """Field name -> {"type", "required", "help", …} for the API documentation."""
    spec = get_spec(entity)
    if spec is None:
        raise IngestRequestError("unknown_entity", f"Unknown entity {entity!r}.")
    return field_docs(spec)


def _duplicates(records: Sequence[object]) -> list[RowError]:
    first: dict[str, int] = {}
    errors: list[RowError] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        ext = record.get("external_id")
        if isinstance(ext, int) and not isinstance(ext, bool):
            ext = str(ext)
        if not isinstance(ext, str) or not ext.strip():
            continue
        ext = ext.strip()
        if ext in first:
            errors.append(
                RowError(
                    index,
                    ext,
                    {
                        "external_id": [
                            f"Duplicate external_id in this request (first at index {first[ext]})."
                        ]
                    },
                )
            )
        else:
            first[ext] = index
    return errors


def ingest_records(
    *,
    source: Connector,
    entity: str,
    records: object,
    actor: Actor,
    atomic: bool = False,
    dry_run: bool = False,
    max_records: int = MAX_RECORDS_PER_REQUEST,
) -> IngestResult:
    """Validate all rows in bulk; upsert the valid ones by (source, external_id).

    Non-atomic: invalid rows are stored as RejectedRecord with their field-level reasons.
    ``atomic=True``: any invalid row raises IngestRequestError("atomic_rejected") and nothing
    is written. A duplicate external_id in ``records`` raises
    IngestRequestError("duplicate_external_id"). ``dry_run`` validates and writes in a
    transaction that is rolled back, returning the counts it would have produced.
    Runs in one transaction.
    """
    spec = get_spec(entity)
    if spec is None:
        raise IngestRequestError(
            "unknown_entity", f"Unknown entity {entity!r}. Known: {', '.join(ENTITY_NAMES)}."
        )
    if not isinstance(records, list):
        raise IngestRequestError("not_a_list", "Expected a list of records.")
    if len(records) > max_records:
        raise IngestRequestError(
            "too_many_records",
            f"At most {max_records} records per request; got {len(records)}.",
        )
    duplicates = _duplicates(records)
    if duplicates:
        raise IngestRequestError(
            "duplicate_external_id",
            "The same external_id appears more than once; nothing was written.",
            duplicates,
        )

    def attempt() -> IngestResult:
        result = IngestResult(entity=entity)
        try:
            with transaction.atomic():
                valid, errors = validate_records(spec, records, source=source)
                if atomic and errors:
                    raise IngestRequestError(
                        "atomic_rejected",
                        f"{len(errors)} of {len(records)} records are invalid; "
                        "nothing was written.",
                        errors,
                    )
                _write(spec, source, records, valid, errors, actor, atomic, dry_run, result)
                if dry_run:
                    raise _DryRunRollback
        except _DryRunRollback:
            result.batch_id = None
        except IntegrityError as exc:
            raise IngestRequestError(
                "constraint_violation",
                f"The database refused the records; nothing was written ({exc.__cause__ or exc}).",
            ) from exc
        return result

    # A deadlock or serialization failure with a concurrent writer: the whole transaction
    # again, a few times, then WriteContention (503 for the API). Inside a caller's
    # transaction the caller retries.
    return run_with_retry(attempt)


def _write(
    spec: EntitySpec,
    source: Connector,
    records: Sequence[object],
    valid: list[tuple[int, Row]],
    errors: list[RowError],
    actor: Actor,
    atomic: bool,
    dry_run: bool,
    result: IngestResult,
    *,
    store_rejects: bool = True,
) -> None:
    """Record the batch, upsert the valid rows, resolve what waited for them, keep the
    invalid rows as RejectedRecord (unless the caller keeps them itself), fill ``result``."""
    now = timezone.now()
    batch = IngestBatch.objects.create(
        source=source,
        entity=spec.name,
        via=actor.via,
        user=actor.user,
        api_token=actor.api_token,
        request_id=actor.request_id[:100],
        atomic=atomic,
        dry_run=dry_run,
        received=len(records),
        started_at=now,
    )
    rows = [row for _, row in valid]
    if spec.before_write is not None and rows:
        spec.before_write(source=source, rows=rows)
    # A dry run is rolled back: nothing to flag, and no query spent on locks.
    watch = None if dry_run else lock_watch_start(spec=spec, source=source, rows=rows)
    # The stored dates of the rows, so the months they leave are recomputed too.
    dates_before = None if dry_run else stored_dates(spec=spec, source=source, rows=rows)
    counts = upsert_rows(spec=spec, source=source, rows=rows, batch_id=batch.pk, now=now)
    if not dry_run:
        changes_announce_writes(
            spec=spec,
            rows=rows,
            outcomes=counts.outcomes,
            before=dates_before,
            # before_write may change other rows of the table (a budget's current version).
            forced=spec.before_write is not None and bool(rows),
        )
    adjustments_flag_writes(
        watch=watch,
        spec=spec,
        source=source,
        rows=rows,
        outcomes=counts.outcomes,
        actor=actor,
        batch_id=batch.pk,
        now=now,
    )
    resolve_pending(entity=spec.name, source=source, external_ids=counts.created_ids)
    # Concurrent transactions cannot see each other's rows before they commit: after the
    # commit (the outermost one, when the caller holds a transaction), settle what either
    # side may have missed. Robust: a failure there is logged and left to the sweep.
    transaction.on_commit(
        partial(
            pending_settle,
            spec=spec,
            source=source,
            external_ids=[row["external_id"] for row in rows],
            pending=counts.pending,
        ),
        robust=True,
    )
    if errors and store_rejects:
        rejects_store(
            source=source,
            entity=spec.name,
            rejects=[Reject(records[e.index], e.external_id or "", e.errors) for e in errors],
            batch_id=batch.pk,
            now=now,
        )
    result.created, result.updated, result.unchanged = (
        counts.created,
        counts.updated,
        counts.unchanged,
    )
    result.rejected = len(errors)
    result.errors = errors
    result.batch_id = batch.pk
    result.outcomes = {index: counts.outcomes[row["external_id"]] for index, row in valid}
    result.waiting = _waiting(spec, source, valid, counts.pending)
    result.pending = len({w.index for w in result.waiting})
    IngestBatch.objects.filter(pk=batch.pk).update(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        rejected=result.rejected,
        pending=result.pending,
        finished_at=timezone.now(),
    )


def _waiting(
    spec: EntitySpec,
    source: Connector,
    valid: list[tuple[int, Row]],
    pending: dict[str, tuple[str, ...]],
) -> list[WaitingReference]:
    """The references of this request's rows still pending once the write and the resolution
    of what waited for it are done (a department naming a parent sent in the same request is
    resolved by then, so it is not reported): one query per reference field left pending."""
    still: dict[str, set[str]] = {}
    for name, external_ids in pending.items():
        still[name] = set(
            pending_rows(spec, name)
            .filter(source=source, external_id__in=external_ids)
            .values_list("external_id", flat=True)
        )
    return [
        WaitingReference(index, row["external_id"], f.name, row[f.name])
        for index, row in valid
        for f in spec.refs
        if row["external_id"] in still.get(f.name, ())
    ]


@dataclass
class ReprocessResult:
    reprocessed: int = 0
    still_rejected: int = 0
    skipped: int = 0


def rejected_reprocess(*, rejected_ids: list[int], actor: Actor) -> ReprocessResult:
    """Run open rejected records through the engine again (e.g. after the data they
    referenced or the currency table changed). Valid ones are upserted and marked
    reprocessed; invalid ones stay open with their new reasons. When several open records
    share an external_id, the latest one is used and the older ones are marked dismissed.
    """
    outcome = ReprocessResult()
    actor = Actor(
        user=actor.user, api_token=actor.api_token, request_id=actor.request_id, via="reprocess"
    )
    with transaction.atomic():
        pending = list(
            RejectedRecord.objects.select_for_update()
            .filter(pk__in=rejected_ids, status=RejectedRecord.Status.OPEN)
            .select_related("source")
            .order_by("source_id", "entity", "-received_at", "-id")
        )
        outcome.skipped = len(set(rejected_ids)) - len(pending)
        groups: dict[tuple[int, str], list[RejectedRecord]] = {}
        for rejected in pending:
            groups.setdefault((rejected.source_id, rejected.entity), []).append(rejected)
        now = timezone.now()
        for (_, entity), group in groups.items():
            latest: dict[str, RejectedRecord] = {}
            superseded: list[RejectedRecord] = []
            batch_rows: list[RejectedRecord] = []
            for rejected in group:
                key = rejected.external_id
                if key and key in latest:
                    superseded.append(rejected)
                    continue
                if key:
                    latest[key] = rejected
                batch_rows.append(rejected)
            if entity not in ENTITIES:
                for rejected in batch_rows:
                    rejected.errors = {"non_field_errors": [f"Unknown entity {entity!r}."]}
                    rejected.save(update_fields=["errors"])
                outcome.still_rejected += len(batch_rows)
                continue
            for chunk_start in range(0, len(batch_rows), MAX_RECORDS_PER_REQUEST):
                chunk = batch_rows[chunk_start : chunk_start + MAX_RECORDS_PER_REQUEST]
                try:
                    with transaction.atomic():
                        _reprocess_chunk(entity, chunk, actor, now, outcome)
                except IntegrityError as exc:
                    message = f"Refused by the database: {exc.__cause__ or exc}"
                    RejectedRecord.objects.filter(pk__in=[r.pk for r in chunk]).update(
                        errors={"non_field_errors": [message[:1000]]}
                    )
                    outcome.still_rejected += len(chunk)
            RejectedRecord.objects.filter(pk__in=[r.pk for r in superseded]).update(
                status=RejectedRecord.Status.DISMISSED, resolved_at=now
            )
            outcome.skipped += len(superseded)
    return outcome


def _reprocess_chunk(
    entity: str,
    chunk: list[RejectedRecord],
    actor: Actor,
    now: dt.datetime,
    outcome: ReprocessResult,
) -> None:
    source = chunk[0].source
    spec = ENTITIES[entity]
    records: list[Any] = [r.payload for r in chunk]
    valid, errors = validate_records(spec, records, source=source, ctx=validation_context())
    result = IngestResult(entity=entity)
    _write(spec, source, records, valid, errors, actor, False, False, result, store_rejects=False)
    RejectedRecord.objects.filter(pk__in=[chunk[i].pk for i, _ in valid]).update(
        status=RejectedRecord.Status.REPROCESSED,
        resolved_at=now,
        resolved_batch_id=result.batch_id,
    )
    for error in errors:
        rejected = chunk[error.index]
        rejected.errors = error.errors
        rejected.save(update_fields=["errors"])
    outcome.reprocessed += len(valid)
    outcome.still_rejected += len(errors)


def records_delete(*, queryset: QuerySet[SourcedRecord], actor: Actor) -> int:
    """Delete canonical rows (admin), recording who deleted what in an IngestBatch.

    References to the deleted rows become pending again (their external ids are kept).
    """
    spec = ENTITY_BY_MODEL[queryset.model]
    deleted = 0
    with transaction.atomic():
        locked = batch_locked_months(spec)
        # With a lock, the same read takes what flagging a deleted row needs; it also takes
        # the dates, whose months the metrics recompute.
        extra = summary_attrs(spec) if locked else []
        dates = date_attrs(spec)
        by_source: dict[int, dict[str, list[Any]]] = {}
        deleted_dates: list[list[Any]] = []
        for source_id, external_id, *values in queryset.values_list(
            "source_id", "external_id", *extra, *dates
        ):
            by_source.setdefault(source_id, {})[external_id] = values[: len(extra)]
            deleted_dates.append(values[len(extra) :])
        now = timezone.now()
        for source_id, rows in by_source.items():
            batch = deletion_batch_create(
                source_id=source_id,
                entity=spec.name,
                external_ids=list(rows),
                actor=actor,
                now=now,
            )
            count, _ = spec.model.objects.filter(
                source_id=source_id, external_id__in=list(rows)
            ).delete()
            deleted += count
            adjustments_flag_deletes(
                spec=spec,
                source_id=source_id,
                deleted=rows,
                locked=locked,
                actor=actor,
                batch_id=batch.pk,
                now=now,
            )
        if deleted:
            changes_announce_deletes(spec=spec, dates=deleted_dates, cascades=True)
    return deleted


def rejected_dismiss(*, rejected_ids: list[int], actor: Actor) -> int:
    """Mark open rejected records as dismissed (they will not be reprocessed)."""
    return RejectedRecord.objects.filter(
        pk__in=rejected_ids, status=RejectedRecord.Status.OPEN
    ).update(status=RejectedRecord.Status.DISMISSED, resolved_at=timezone.now())


def pending_references_resolve(*, dry_run: bool = False) -> dict[tuple[str, str], int]:
    """Resolve every pending reference whose target exists (or only count them with
    ``dry_run``); returns (entity, field) -> rows fixed.

    After each write the engine settles the references it and concurrent writes left
    pending; this sweep repairs what a crash between a commit and that step left behind.
    """
    return resolve_all_pending(dry_run=dry_run)
