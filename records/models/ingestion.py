"""Ingestion bookkeeping: who wrote what (batches) and what was refused (rejected records)."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class IngestBatch(models.Model):
    """One write of canonical data: an API request, an import, an admin save, a sync.

    Every canonical row points at the batch that last wrote it (``last_batch``), so any change
    to money data — bulk upserts included — is attributable to a user or an API token, a
    request id and a time.
    """

    class Via(models.TextChoices):
        API = "api", "API"
        IMPORT = "import", "Import"
        ADMIN = "admin", "Admin"
        SYNC = "sync", "Connector sync"
        WEBHOOK = "webhook", "Webhook"
        REPROCESS = "reprocess", "Reprocess of rejected records"

    source = models.ForeignKey(
        "connectors.Connector", on_delete=models.PROTECT, related_name="ingest_batches"
    )
    entity = models.CharField(max_length=50)
    via = models.CharField(max_length=20, choices=Via.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_token = models.ForeignKey(
        "connectors.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    request_id = models.CharField(max_length=100, blank=True)
    atomic = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)
    received = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # Rows written with a reference to a record not received yet (listed in the response).
    pending = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)  # admin deletes, a source's soft deletes
    # What was deleted (entity external ids), since deleted rows cannot point at the batch.
    deleted_external_ids = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "metrics_ingestbatch"  # kept from before the move to records
        ordering = ["-started_at", "-id"]
        verbose_name_plural = "ingest batches"
        indexes = [
            # Connector health / audit: the latest batches of a source.
            models.Index(fields=["source", "-started_at"], name="m_batch_source_started"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.entity} via {self.via} ({self.started_at:%Y-%m-%d %H:%M})"

    @property
    def actor_label(self) -> str:
        if self.api_token_id:
            return f"token {self.api_token}"
        if self.user_id:
            return f"user {self.user}"
        return "system"


class RejectedRecord(models.Model):
    """A record that failed validation, kept with its raw payload and the reasons per field.

    It can be reprocessed (after the referenced data or the validation changed) or dismissed.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        REPROCESSED = "reprocessed", "Reprocessed"
        DISMISSED = "dismissed", "Dismissed"

    source = models.ForeignKey(
        "connectors.Connector", on_delete=models.CASCADE, related_name="rejected_records"
    )
    entity = models.CharField(max_length=50)
    external_id = models.CharField(max_length=200, blank=True)
    # As received (Decimals kept exact as strings).
    payload = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    errors = models.JSONField(default=dict)
    batch = models.ForeignKey(
        IngestBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="rejects"
    )
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_batch = models.ForeignKey(
        IngestBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "metrics_rejectedrecord"  # kept from before the move to records
        ordering = ["-received_at", "-id"]
        indexes = [
            # Admin / connector health: open rejects per source and entity, newest first.
            models.Index(fields=["status", "source", "entity"], name="m_reject_status_src"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.external_id or '?'} ({self.status})"
