"""Stored results of the metrics engine: metrics/snapshots.py writes them, the API and the
dashboards read them."""

from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

from finhub.core.money import round_half_up


class MetricSnapshot(models.Model):
    """One computed metric report for one set of parameters.

    ``params`` holds every parameter the result depends on (model, grouping, period, lookback,
    half-life, budget version…); ``params_hash`` is the SHA-256 of their canonical JSON, so a
    recompute with the same parameters replaces the row (unique on kind + hash). The most
    used parameters are copied to indexed columns for listing. ``result`` is JSON with every
    Decimal written as a string and undefined ratios as ``"undefined"`` (docs/metrics.md,
    "Conventions").
    ``inputs_freshness`` is the latest ``updated_at`` of the source rows the result read.
    """

    class Kind(models.TextChoices):
        ATTRIBUTION = "attribution", "Revenue attribution"
        CAMPAIGN_ROI = "campaign_roi", "Campaign ROI"
        ATTRIBUTION_DAYS = "attribution_days", "Revenue attribution per close day"
        CAC = "cac", "CAC, LTV and payback"
        SALES = "sales", "Sales analytics"
        BUDGET_VARIANCE = "budget_variance", "Budget vs actual"
        SUBSCRIPTIONS = "subscriptions", "Subscriptions (MRR movements)"
        SUBSCRIPTION_CUSTOMERS = "subscription_customers", "Customers behind MRR movements"
        COHORTS = "cohorts", "Cohort retention"
        CS_ROI = "cs_roi", "Customer-success ROI"
        INITIATIVE_ROI = "initiative_roi", "Initiative ROI"
        FORECAST = "forecast", "Forecast of actuals and budget variance"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    model = models.CharField(max_length=30, blank=True, default="")
    group_by = models.CharField(max_length=30, blank=True, default="")
    period_start = models.DateField()
    period_end = models.DateField()
    params = models.JSONField(default=dict)
    params_hash = models.CharField(max_length=64)
    result = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    inputs_freshness = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "-period_end", "model", "group_by"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "params_hash"], name="metrics_snapshot_params"),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="metrics_snapshot_period_order",
            ),
        ]
        indexes = [
            # Dashboards: the snapshots of a kind for a period, per model and grouping.
            models.Index(
                fields=["kind", "period_start", "period_end", "model", "group_by"],
                name="m_snapshot_kind_period",
            ),
        ]

    def __str__(self) -> str:
        label = " ".join(part for part in (self.model, self.group_by) if part)
        return f"{self.kind} {label} {self.period_start}…{self.period_end}".replace("  ", " ")


class RecomputeRequest(models.Model):
    """The one row that debounces after-sync recomputes (``metrics.services``).

    Each request bumps ``generation`` and queues a recompute a few seconds later carrying
    that number; a queued recompute that finds a higher generation skips, since the later one
    will run. Kept in the database (not a process cache) so every web, worker and prefork
    child process sees the same marker.
    """

    generation = models.PositiveBigIntegerField(default=0)
    requested_at = models.DateTimeField(null=True, blank=True)
    # The oldest request no recompute has started for yet: a stream of requests closer than
    # the debounce window would otherwise postpone the recompute forever.
    pending_since = models.DateTimeField(null=True, blank=True)
    # The last recompute that ran for a request: which generation, and when it started.
    started_generation = models.PositiveBigIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recompute request #{self.generation}"


class ChangedMonth(models.Model):
    """A month of a source table that a write changed since the last incremental recompute
    (metrics/incremental.py): the ingestion path announces each write's months
    (``records.signals.records_changed``, in the write's transaction) and one row per table and
    month is added; the recompute claims the rows it read, recomputes the stored snapshots
    that read those months and deletes exactly those rows once it succeeded.

    Insert-only (no unique key): concurrent writers never wait on each other's marks; the
    recompute folds duplicates. ``month`` None: the change is not tied to months (a customer,
    a campaign, an account…) and concerns every snapshot.
    """

    #: The changed model's label, e.g. "records.glline".
    table = models.CharField(max_length=100)
    #: The first day of the month changed; None = every month.
    month = models.DateField(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.table} {self.month or 'every month'}"


class LedgerMonthBuild(models.Model):
    """A month whose ledger pre-aggregates (:class:`LedgerMonthTotal`, :class:`LedgerDayTotal`)
    were built from its GL lines and FX rates (metrics/ledger_aggregates.py). They are used
    while no :class:`LedgerDirtyMonth` row names the month (or every month) and the reporting
    currency is the one they were built in."""

    month = models.DateField(unique=True)
    reporting_currency = models.CharField(max_length=3)
    built_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ledger aggregates {self.month:%Y-%m}"


class LedgerDirtyMonth(models.Model):
    """A month whose GL lines or FX rates a write changed since its pre-aggregates were built
    (None: every month). Insert-only like :class:`ChangedMonth`, and kept apart from it: the
    rebuild claims and deletes its own marks, the snapshot recompute its own."""

    month = models.DateField(null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"ledger dirty {self.month or 'every month'}"


class LedgerMonthTotal(models.Model):
    """Σ GL amount of a month per department and account id in the reporting currency
    (``day`` None), converted line by line at each day's rate; an amount with no rate on its
    day stays in its own currency on a row of its own with that ``day``.

    ``total`` is the exact decimal as text: converted sums carry up to 12 decimals, which
    SQLite's numeric affinity would round through a float."""

    month = models.DateField()
    day = models.DateField(null=True, blank=True)
    department_id = models.IntegerField(null=True, blank=True)
    account_id = models.IntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    total = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["month"], name="m_ledger_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.department_id}/{self.account_id} {self.total}"


class LedgerDayTotal(models.Model):
    """Σ GL amount of a day per department and account id, as :class:`LedgerMonthTotal` (the
    reporting currency, or the line currency where the day has no rate): the days of the
    months a period covers in part."""

    day = models.DateField()
    department_id = models.IntegerField(null=True, blank=True)
    account_id = models.IntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    total = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["day"], name="m_ledger_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.department_id}/{self.account_id} {self.total}"


class SpendAnomaly(models.Model):
    """A day of campaign spend or a week of GL expense outside its expected band
    (metrics/anomalies.py detects them; docs/metrics.md, "Spend anomalies").

    Re-detection updates the figures of the same (kind, scope, period) in place and never its
    status, so a dismissed anomaly stays dismissed; an open one no longer flagged is deleted.
    Money is in the reporting currency (``currency``) at each line's date.
    """

    class Kind(models.TextChoices):
        CAMPAIGN_SPEND = "campaign_spend", "Campaign spend (daily)"
        GL_EXPENSE = "gl_expense", "GL expense (weekly)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    #: Campaign: its external id; GL: "department code|account code".
    scope_key = models.CharField(max_length=250)
    label = models.CharField(max_length=500)
    # Not indexed: the table holds flagged points only, so the lookups Django makes when a
    # record is deleted (SET NULL) scan a few hundred rows at most.
    campaign = models.ForeignKey(
        "records.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    account = models.ForeignKey(
        "records.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    department = models.ForeignKey(
        "records.Department",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    #: The day, or the week (Monday…Sunday).
    period_start = models.DateField()
    period_end = models.DateField()
    actual = models.DecimalField(max_digits=18, decimal_places=2)
    expected = models.DecimalField(max_digits=18, decimal_places=2)
    low = models.DecimalField(max_digits=18, decimal_places=2)
    high = models.DecimalField(max_digits=18, decimal_places=2)
    #: actual - expected.
    deviation = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    #: Robust z-score of the residual (how many robust standard deviations off).
    score = models.DecimalField(max_digits=18, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismiss_reason = models.TextField(blank=True)
    detected_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-period_start", "kind", "label"]
        verbose_name_plural = "spend anomalies"
        constraints = [
            # Re-detection upserts on this key (and so keeps the status).
            models.UniqueConstraint(
                fields=["kind", "scope_key", "period_start"], name="metrics_anomaly_scope_period"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="metrics_anomaly_period_order",
            ),
            models.CheckConstraint(
                condition=models.Q(low__lte=models.F("high")), name="metrics_anomaly_band_order"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "dismissed"]), name="metrics_anomaly_status"
            ),
        ]
        indexes = [
            # The list (page, API, admin): WHERE status = … ORDER BY period_start DESC (the
            # optional kind filter has two values: not worth a column here).
            models.Index(fields=["status", "-period_start"], name="m_anomaly_status_period"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label} {self.period_start}"

    @property
    def deviation_pct(self) -> Decimal | None:
        """deviation / |expected| as a fraction (0.25 = 25%); None when expected is 0."""
        if not self.expected:
            return None
        return round_half_up(Decimal(self.deviation) / abs(Decimal(self.expected)), 4)
