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

    # --- pulling (REST / file drop): how to reach the source and how to read it ---------
    class Pagination(models.TextChoices):
        CURSOR = "cursor", "Cursor (next_cursor)"
        PAGE = "page", "Page number (page / total_pages)"

    class AuthType(models.TextChoices):
        NONE = "none", "None"
        BEARER = "bearer", "Bearer token"
        BASIC = "basic", "HTTP basic (username / password)"
        API_KEY = "api_key", "API key header"
        OAUTH2 = "oauth2_client_credentials", "OAuth2 client credentials"

    pagination = models.CharField(
        max_length=10, choices=Pagination.choices, default=Pagination.CURSOR
    )
    auth_type = models.CharField(max_length=30, choices=AuthType.choices, default=AuthType.NONE)
    # Not secret: the header an API key goes in, and an OAuth2 token endpoint.
    auth_header_name = models.CharField(max_length=100, blank=True, default="X-Api-Key")
    token_url = models.URLField(blank=True)
    # The credentials (token / password / API key / client secret) as Fernet-encrypted JSON
    # (connectors/crypto.py): written from the admin, never shown again nor logged.
    credentials_encrypted = models.TextField(blank=True, default="", editable=False)
    credentials_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    # File drop: the folder new files appear in (one sub-folder per resource).
    drop_path = models.CharField(max_length=500, blank=True)
    # Per-entity field mapping, validated by connectors.sync.mapping.mapping_validate.
    sync_config = models.JSONField(default=dict, blank=True)
    # References from this connector's records (e.g. a CRM deal naming a marketing contact)
    # are resolved in its own records first, then in these connectors' records.
    reference_sources = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="referenced_by"
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="connector",
        editable=False,
    )
    # Stale after this long without a good sync (0 = twice the schedule, or a day).
    stale_after_minutes = models.PositiveIntegerField(default=0)

    # --- health: circuit breaker and the per-connector lock ----------------------------
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    pause_reason = models.CharField(max_length=500, blank=True, default="", editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The lease that keeps two runs of this connector from overlapping: the running
    # SyncRun's id and when its lease lapses unless the run's heartbeat extends it. A
    # killed worker stops extending it, so it is never held forever.
    lock_run_id = models.BigIntegerField(null=True, blank=True, editable=False)
    lock_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
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
        # Django would derive "api token"; the admin shows the acronym in capitals.
        verbose_name = "API token"
        verbose_name_plural = "API tokens"
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
    concurrent second request fail to claim and get 409), then completed with the response
    to replay in the transaction that writes the request's effects: a crash leaves both or
    neither. A claim still in progress after FINHUB_IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS is a
    request that died; a retry takes it over (``created_at`` is when the current claim was
    made, and identifies it).
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
    # The IngestBatch the event produced (kept as a plain id: the batch lives in records).
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


class SyncRun(models.Model):
    """One sync of a connector (all its configured entities, or the ones asked for).

    The row in the database is the truth about a run, not the Celery message: a run whose
    heartbeat goes stale is abandoned by the reaper and a retry run resumes from the state
    committed page by page.
    """

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        RETRY = "retry", "Retry"

    class Mode(models.TextChoices):
        INCREMENTAL = "incremental", "Incremental"
        FULL_REFRESH = "full_refresh", "Full refresh"
        BACKFILL = "backfill", "Backfill from date"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        ABANDONED = "abandoned", "Abandoned (worker lost)"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.SKIPPED, Status.ABANDONED)

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    mode = models.CharField(max_length=15, choices=Mode.choices, default=Mode.INCREMENTAL)
    backfill_from = models.DateField(null=True, blank=True)
    entities = models.JSONField(default=list, blank=True)  # empty: every configured entity
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    resumed_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    requested_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    celery_task_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    rows_read = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    rows_deleted = models.PositiveIntegerField(default=0)
    # HTTP requests to the source and how many of them failed (retried or fatal): uptime.
    requests = models.PositiveIntegerField(default=0)
    request_failures = models.PositiveIntegerField(default=0)
    entity_stats = models.JSONField(default=dict, blank=True)  # entity -> counters
    # Why it was skipped or failed, in one line; the traceback is for admins only.
    message = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    reconciliation_matched_pct = models.DecimalField(
        max_digits=6, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Run history and health: a connector's runs, newest first, over 7/30 days.
            models.Index(fields=["connector", "-created_at"], name="c_syncrun_conn_created"),
            # The reaper: running runs by heartbeat.
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(status="running"),
                name="c_syncrun_running_hb",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.connector} run #{self.pk} ({self.status})"

    @property
    def duration(self) -> timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class SyncState(models.Model):
    """Where the incremental sync of one connector entity stands.

    Saved in the same transaction as the page of rows it covers, so after a crash the next
    run resumes from the last committed page and never skips or double-applies one.
    """

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="states")
    entity = models.CharField(max_length=50)
    cursor = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey(
        SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connector", "entity"]
        constraints = [
            models.UniqueConstraint(fields=["connector", "entity"], name="syncstate_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.connector} / {self.entity}"


class ReconciliationResult(models.Model):
    """FinHub's count and amount sum for one entity and month against the source's control
    totals, after a run."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="reconciliations")
    entity = models.CharField(max_length=50)
    month = models.DateField(null=True, blank=True)  # null: the entity has no date
    source_count = models.PositiveIntegerField(default=0)
    finhub_count = models.PositiveIntegerField(default=0)
    source_amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    finhub_amount = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    matched = models.BooleanField(default=False)

    class Meta:
        ordering = ["run", "entity", "month"]

    def __str__(self) -> str:
        return f"{self.entity} {self.month or 'all'}: {'ok' if self.matched else 'differs'}"


class SourceCallDay(models.Model):
    """The calls FinHub made to one connector's source API on one day (local date), counted
    per logical call: a GET and all its retries are one call (docs/connectors.md, "API
    reliability"). The sync HTTP client buffers its counts and adds them here once, when it
    closes: one row per connector and day, never a row per call."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="call_days")
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    # Of the succeeded calls, those that needed more than one attempt.
    retried_succeeded = models.PositiveIntegerField(default=0)
    # The source failed: 5xx, 429, timeouts, dropped connections, a 200 that is not JSON.
    failed_source = models.PositiveIntegerField(default=0)
    # FinHub's own request failed: another 4xx, refused credentials (401/403).
    failed_finhub = models.PositiveIntegerField(default=0)
    # HTTP attempts made (retries included): how hard the calls were.
    attempts = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connector", "-day"]
        verbose_name = "source API calls (day)"
        verbose_name_plural = "source API calls (days)"
        constraints = [
            # The natural key the client's upsert adds to.
            models.UniqueConstraint(fields=["connector", "day"], name="sourcecallday_unique"),
            models.CheckConstraint(
                condition=models.Q(
                    calls=models.F("succeeded")
                    + models.F("failed_source")
                    + models.F("failed_finhub")
                ),
                name="sourcecallday_calls_sum",
            ),
            models.CheckConstraint(
                condition=models.Q(retried_succeeded__lte=models.F("succeeded")),
                name="sourcecallday_retried_le_succeeded",
            ),
        ]
        indexes = [
            # API reliability over the last 30 days, all connectors: WHERE day >= … GROUP BY.
            models.Index(fields=["day"], name="c_sourcecallday_day"),
        ]

    def __str__(self) -> str:
        return f"{self.connector} {self.day}: {self.succeeded}/{self.calls} calls succeeded"
