from django.db import models


class RequestTiming(models.Model):
    """The durations of one endpoint's requests in one clock hour, from every web process,
    as a histogram (operations.histograms): one row per endpoint, method and hour, never one
    per request. Each process adds its counts when it flushes (operations.services)."""

    endpoint = models.CharField(
        max_length=200,
        help_text="The URL's route name (dashboards:executive) or pattern; never a raw path.",
    )
    method = models.CharField(max_length=10)
    # Start of the clock hour (UTC) the requests finished in.
    hour = models.DateTimeField()
    financial = models.BooleanField(
        help_text="A financial data query: a dashboard page or export, or a records or "
        "metrics API read, answered (2xx) or failed (5xx)."
    )
    count = models.PositiveBigIntegerField(default=0)
    errors = models.PositiveBigIntegerField(default=0, help_text="Responses with a 5xx status.")
    total_ms = models.FloatField(default=0)
    max_ms = models.FloatField(default=0)
    # Bucket index (operations.histograms.BOUNDS_MS) -> requests, only non-empty buckets.
    buckets = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # The flush adds to the row of its key; the leading hour also serves the page's
            # "last N hours" and the retention prune.
            models.UniqueConstraint(
                fields=["hour", "endpoint", "method", "financial"],
                name="operations_requesttiming_unique_key",
            ),
        ]
        indexes = [
            # The scorecard's response time: financial rows of the last 24 hours.
            models.Index(fields=["financial", "hour"], name="operations_timing_fin_hour"),
        ]
        permissions = [("view_operations", "Can view the operations page")]

    def __str__(self) -> str:
        return f"{self.method} {self.endpoint} @ {self.hour:%Y-%m-%d %H:00}: {self.count}"
