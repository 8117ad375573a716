from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.text import slugify


class Connector(models.Model):
    """A source system FinHub pulls from or that pushes into FinHub.

    Every record that comes from outside names its connector as its source; the pair
    (source, external_id) identifies it, which is what makes re-sending safe.
    """

    class Kind(models.TextChoices):
        ERP = "erp", "ERP / general ledger"
        BUDGET = "budget", "Budget planning"
        CRM = "crm", "CRM / sales"
        MARKETING = "marketing", "Marketing automation"
        BILLING = "billing", "Billing / subscriptions"
        PRODUCT = "product", "Product development tracking"
        OTHER = "other", "Other"

    class Transport(models.TextChoices):
        REST_PULL = "rest_pull", "REST pull"
        FILE_DROP = "file_drop", "File drop / upload"
        PUSH_ONLY = "push_only", "Push only (API / webhooks)"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    transport = models.CharField(
        max_length=20, choices=Transport.choices, default=Transport.PUSH_ONLY
    )
    base_url = models.URLField(blank=True)
    enabled = models.BooleanField(default=True)
    # The webhook signing secret, Fernet-encrypted (connectors/crypto.py): it must be
    # readable to verify signatures, so it is encrypted at rest rather than hashed.
    webhook_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    webhook_secret_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)
        super().save(*args, **kwargs)


class ApiToken(models.Model):
    """A per-connector credential for the REST API, stored hashed and shown once.

    A token writes only to its own connector and only the entities it allows; reading is
    a separate grant. Scopes name other narrow rights (e.g. posting roadmap measurements).
    """

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters of the token, kept in clear to find the row; the rest is hashed.
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=128)
    allowed_entities = models.JSONField(default=list, blank=True)
    can_write = models.BooleanField(default=True)
    can_read = models.BooleanField(default=False)
    scopes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["connector", "name"]
        constraints = [
            models.UniqueConstraint(fields=["connector", "name"], name="apitoken_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.connector} / {self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        """Whether this (unrevoked) token was granted the named scope."""
        return self.is_active and scope in (self.scopes or [])

    def allows_entity(self, entity: str) -> bool:
        """Whether this token may write ``entity`` to its connector."""
        return self.is_active and self.can_write and entity in (self.allowed_entities or [])


def idempotency_expiry():
    # Keys are kept at least 24 h (the floor); the purge task runs hourly after that.
    return timezone.now() + timedelta(hours=24)


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` for one write request, scoped to its API token.

    The row is claimed by an INSERT before the work starts (the unique constraint makes a
    concurrent second request fail to claim and get 409), then holds the response to replay.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    # sha256 of method, path with query string, and raw body: what "the same request" means.
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=idempotency_expiry)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["token", "key"], name="idempotencykey_unique_token_key"
            ),
        ]
        indexes = [
            # The purge task: DELETE … WHERE expires_at < now.
            models.Index(fields=["expires_at"], name="c_idemkey_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"


class WebhookEvent(models.Model):
    """A webhook event a connector delivered; its id is recorded once, with its effect.

    The row is inserted in the same transaction as the ingestion it triggers, so a replayed
    event id is recognised (unique constraint) and never applied twice.
    """

    connector = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="webhook_events"
    )
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=50)
    received_at = models.DateTimeField(default=timezone.now)
    # The IngestBatch the event produced (kept as a plain id: the batch lives in metrics).
    batch_id = models.BigIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "event_id"], name="webhookevent_unique_connector_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connector} {self.type} {self.event_id}"
