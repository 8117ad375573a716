"""Stored results of the metrics engine: metrics/snapshots.py writes them, the API and the
dashboards read them."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


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
        CAC = "cac", "CAC, LTV and payback"
        SALES = "sales", "Sales analytics"
        BUDGET_VARIANCE = "budget_variance", "Budget vs actual"
        SUBSCRIPTIONS = "subscriptions", "Subscriptions (MRR movements)"
        SUBSCRIPTION_CUSTOMERS = "subscription_customers", "Customers behind MRR movements"
        COHORTS = "cohorts", "Cohort retention"
        CS_ROI = "cs_roi", "Customer-success ROI"
        INITIATIVE_ROI = "initiative_roi", "Initiative ROI"

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
