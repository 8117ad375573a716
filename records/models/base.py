"""The abstract base every externally sourced canonical record shares."""

import hashlib

from django.db import models
from django.db.models.functions import Round
from django.utils import timezone

# Money: 18 digits, 2 decimals, beside an ISO 4217 currency (see STYLE.md).
MONEY = {"max_digits": 18, "decimal_places": 2}


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(**MONEY, **kwargs)


class LiveRecordManager(models.Manager):
    """The default manager: records the source has not deleted (``all_objects`` has all)."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class SourcedRecord(models.Model):
    """A record that came from outside: its connector, its id there and its version there.

    ``(source, external_id)`` is unique, so re-sending a record updates it in place.
    ``row_hash`` fingerprints the canonical values: an identical re-send is not rewritten.
    ``last_batch`` is the ingest/import/admin batch that last wrote the row (who, when, how).
    """

    # No single-column FK indexes here: the unique (source, external_id) index serves lookups
    # by source, and every extra index is paid on each bulk upsert (see docs/benchmarks.md).
    source = models.ForeignKey(
        "connectors.Connector", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    external_id = models.CharField(max_length=200)
    source_updated_at = models.DateTimeField(null=True, blank=True)
    row_hash = models.CharField(max_length=32, editable=False, default="")
    # An audit pointer to the batch created in the same transaction; batches are append-only
    # (no delete in the admin). No database FK: its deferred check would cost a lookup per
    # written row at commit (docs/benchmarks.md); Django still applies SET_NULL on delete.
    last_batch = models.ForeignKey(
        "records.IngestBatch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # Set when the source deleted the record (a sync saw its tombstone, or a full refresh
    # no longer listed it): kept for the audit trail, left out of every figure.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = LiveRecordManager()
    all_objects = models.Manager()  # noqa: DJ012 (ruff takes it for a field)

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def __str__(self) -> str:
        name = getattr(self, "name", "") or ""
        return f"{name} ({self.external_id})" if name else self.external_id


def ref(to: str, **kwargs) -> models.ForeignKey:
    """The resolved side of a reference by external id; null while the target is pending.

    Deleting the target makes the reference pending again (its external id is kept).
    Not indexed by default: models add the composite indexes their dashboards need.
    """
    kwargs.setdefault("db_index", False)
    return models.ForeignKey(
        to, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", **kwargs
    )


def ref_external_id() -> models.CharField:
    return models.CharField(max_length=200, blank=True, default="")


def pending_index(field: str, cls_name: str) -> models.Index:
    """Serves resolving pending references set-based when the target arrives:
    ``UPDATE … SET <field>_id = … WHERE source_id = %s AND <field>_id IS NULL
    AND <field>_external_id IN (…)``."""
    return models.Index(
        fields=["source", f"{field}_external_id"],
        condition=models.Q(**{f"{field}__isnull": True})
        & ~models.Q(**{f"{field}_external_id": ""}),
        name=_short_name(f"m_{cls_name}_{field}_pend"),
    )


def freshness_index(cls_name: str) -> models.Index:
    """Serves the inputs freshness of stored reports (``metrics.selectors.freshness``):
    ``SELECT MAX(updated_at) … WHERE deleted_at IS NULL`` reads the index's last entries
    instead of scanning the table. Only on the large tables a report reads; ``updated_at``
    grows with time, so the index appends at its right edge on ingestion."""
    return models.Index(fields=["updated_at"], name=_short_name(f"m_{cls_name}_updated"))


def _short_name(name: str) -> str:
    """Index names are limited to 30 characters; keep them unique with a digest."""
    if len(name) <= 30:
        return name
    return f"{name[:25]}_{hashlib.md5(name.encode()).hexdigest()[:4]}"  # noqa: S324


def source_unique(cls_name: str) -> models.UniqueConstraint:
    return models.UniqueConstraint(
        fields=["source", "external_id"], name=f"metrics_{cls_name}_source_extid"
    )


def scale_check(field: str, cls_name: str) -> models.CheckConstraint:
    """The stored value has at most two decimals (SQLite has no numeric scale of its own)."""
    return models.CheckConstraint(
        condition=models.Q(**{field: Round(models.F(field), 2)}),
        name=f"metrics_{cls_name}_{field}_scale",
    )


def non_negative(field: str, cls_name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__gte": 0}), name=f"metrics_{cls_name}_{field}_gte_0"
    )


def date_order(start: str, end: str, cls_name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q(**{f"{end}__isnull": True})
        | models.Q(**{f"{start}__isnull": True})
        | models.Q(**{f"{end}__gte": models.F(start)}),
        name=f"metrics_{cls_name}_{start}_before_{end}",
    )
