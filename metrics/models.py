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
