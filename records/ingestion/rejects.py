"""Records that could not be ingested, kept as ``RejectedRecord`` with their reasons.

The engine keeps the rows validation refuses (``services._write``); a connector sync also
refuses, before validation, the source records it cannot map to an entity — those are kept
in (and counted in) the batch the rest of their page was ingested in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db.models import F

from records.models import IngestBatch, RejectedRecord

if TYPE_CHECKING:
    from connectors.models import Connector


class Reject(NamedTuple):
    """One refused record: as received, its id in the source (may be blank), and the
    reasons per field."""

    payload: Any
    external_id: str
    errors: dict[str, Any]


def rejects_store(
    *,
    source: Connector,
    entity: str,
    rejects: Sequence[Reject],
    batch_id: int | None,
    now: dt.datetime,
    count_in_batch: bool = False,
) -> int:
    """Keep ``rejects`` as open RejectedRecords of the batch ``batch_id``; returns how many.

    ``count_in_batch``: they were refused before the batch's validation (a source record
    that cannot be mapped), so add them to its received and rejected counts — the batch
    then accounts for everything that arrived.
    """
    RejectedRecord.objects.bulk_create(
        RejectedRecord(
            source=source,
            entity=entity,
            external_id=(reject.external_id or "")[:200],
            payload=reject.payload,
            errors=reject.errors,
            batch_id=batch_id,
            received_at=now,
        )
        for reject in rejects
    )
    if count_in_batch and batch_id is not None and rejects:
        IngestBatch.objects.filter(pk=batch_id).update(
            received=F("received") + len(rejects), rejected=F("rejected") + len(rejects)
        )
    return len(rejects)
