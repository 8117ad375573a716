"""Deletions of canonical records, each one recorded in an ``IngestBatch`` (who deleted
which external ids, when, through what): deleted rows cannot point at a batch themselves.

``records_delete`` (services.py) removes the rows an admin deletes. A source's deletions
are soft: ``records_soft_delete`` marks the records a sync saw tombstones of, and
``records_soft_delete_unseen`` those a full refresh no longer listed. They stay for the audit
trail with ``deleted_at`` set (and ``last_batch`` at the deleting batch) and leave every
figure; the source sending a newer version brings one back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from records.models import IngestBatch

from .changes import changes_announce_deletes, date_attrs
from .entities import ENTITIES
from .locks import adjustments_flag_deletes, batch_locked_months, summary_attrs
from .upsert import CHUNK

if TYPE_CHECKING:
    from connectors.models import Connector

    from .services import Actor


def deletion_batch_create(
    *,
    source_id: int,
    entity: str,
    external_ids: Collection[str],
    actor: Actor,
    now: dt.datetime,
) -> IngestBatch:
    """The audit record of deleting ``external_ids`` of one source and entity."""
    return IngestBatch.objects.create(
        source_id=source_id,
        entity=entity,
        via=actor.via,
        user=actor.user,
        api_token=actor.api_token,
        request_id=actor.request_id[:100],
        received=len(external_ids),
        deleted=len(external_ids),
        deleted_external_ids=sorted(external_ids),
        started_at=now,
        finished_at=now,
    )


def records_soft_delete(
    *,
    source: Connector,
    entity: str,
    deletions: Mapping[str, dt.datetime | None],
    actor: Actor,
) -> int:
    """Soft-delete the live records of ``source`` whose external ids the source deleted,
    each with the time it was deleted there (None: unknown). A record whose stored version
    is newer than its deletion was re-created since, and is kept. Returns how many."""
    if not deletions:
        return 0
    spec = ENTITIES[entity]
    model = spec.model
    ids = list(deletions)
    doomed: dict[str, dt.datetime | None] = {}
    locked = batch_locked_months(spec)
    # With a lock, the same read takes what flagging a deleted row needs.
    extra = summary_attrs(spec) if locked else []
    # The dates too: the metrics recompute the months the deleted records leave.
    dates = date_attrs(spec)
    values: dict[str, list[Any]] = {}
    doomed_dates: list[list[Any]] = []
    for start in range(0, len(ids), CHUNK):
        stored = model.objects.filter(
            source=source, external_id__in=ids[start : start + CHUNK]
        ).values_list("external_id", "source_updated_at", *extra, *dates)
        for ext, stored_at, *read in stored:
            at = deletions[ext]
            if stored_at is None or at is None or at >= stored_at:
                doomed[ext] = at
                values[ext] = read[: len(extra)]
                doomed_dates.append(read[len(extra) :])
    if not doomed:
        return 0
    now = timezone.now()
    gone = list(doomed)
    deleted = 0
    with transaction.atomic():
        batch = deletion_batch_create(
            source_id=source.pk, entity=entity, external_ids=gone, actor=actor, now=now
        )
        for start in range(0, len(gone), CHUNK):
            part = gone[start : start + CHUNK]
            # The deletion's time becomes the record's source time: an older version sent
            # again later does not bring it back, a newer one (re-created there) does.
            whens = [When(external_id=ext, then=Value(doomed[ext])) for ext in part if doomed[ext]]
            deleted += model.all_objects.filter(
                source=source, external_id__in=part, deleted_at__isnull=True
            ).update(
                deleted_at=now,
                updated_at=now,
                last_batch_id=batch.pk,
                source_updated_at=(
                    Case(*whens, default=F("source_updated_at"))
                    if whens
                    else F("source_updated_at")
                ),
            )
        if deleted != len(gone):  # a concurrent write got there first: count what we did
            IngestBatch.objects.filter(pk=batch.pk).update(deleted=deleted)
        if deleted:
            changes_announce_deletes(spec=spec, dates=doomed_dates)
        adjustments_flag_deletes(
            spec=spec,
            source_id=source.pk,
            deleted=values,
            locked=locked,
            actor=actor,
            batch_id=batch.pk,
            now=now,
        )
    return deleted


def records_soft_delete_unseen(
    *, source: Connector, entity: str, seen: Collection[str], actor: Actor
) -> int:
    """A full refresh listed every live record of ``entity`` in the source: soft-delete the
    records of ``source`` it did not list. Returns how many."""
    seen = set(seen)
    stored = (
        ENTITIES[entity].model.objects.filter(source=source).values_list("external_id", flat=True)
    )
    unseen = [ext for ext in stored if ext not in seen]
    return records_soft_delete(
        source=source, entity=entity, deletions=dict.fromkeys(unseen), actor=actor
    )
