"""Alert rules and the per-item alert instances they evaluate, with every state transition."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class State(models.TextChoices):
    NORMAL = "normal", "Normal"
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"
    NO_DATA = "no_data", "No data"
    ERROR = "error", "Error"


class AlertRule(models.Model):
    """Watches one metric the engine already stores, for every item of a scope (one alert
    instance per department, campaign, connector…) or for one item (``scope_filter``).

    An evaluation compares each item's value with ``threshold``; it must breach
    ``pending_evaluations`` times in a row before the instance fires, and a firing instance
    resolves only once the value is back past ``recovery_threshold`` (hysteresis; empty: the
    threshold itself). ``no_data_action`` / ``error_action`` say what a missing value or a
    failed read does. Rules with a ``builtin_key`` come from a migration: editable, and can
    be disabled, but not deleted by it again.
    """

    class Metric(models.TextChoices):
        BUDGET_VARIANCE_PCT = "budget_variance_pct", "Budget variance % (year to date)"
        PREDICTED_OVERRUN_PCT = "predicted_overrun_pct", "Predicted full-year variance %"
        PREDICTED_OUTTURN = "predicted_outturn", "Predicted full-year outturn"
        CAMPAIGN_ROI = "campaign_roi", "Campaign ROI %"
        CHANNEL_ROI = "channel_roi", "Channel ROI %"
        CHANNEL_ROAS = "channel_roas", "Channel ROAS"
        BLENDED_CAC = "blended_cac", "Blended CAC"
        PAID_CAC = "paid_cac", "Paid CAC"
        LTV_CAC = "ltv_cac", "LTV:CAC"
        PAYBACK_MONTHS = "payback_months", "CAC payback (months)"
        NRR = "nrr", "Net revenue retention %"
        GRR = "grr", "Gross revenue retention %"
        CS_ROI = "cs_roi", "Customer-success ROI %"
        SPEND_ANOMALY = "spend_anomaly", "Spend anomaly (deviation score)"
        SYNC_FAILURES = "sync_failures", "Failed syncs in a row"
        SOURCE_STALE_HOURS = "source_stale_hours", "Hours since the last successful sync"
        RECONCILIATION_ACCURACY = "reconciliation_accuracy", "Reconciliation accuracy %"
        RESPONSE_TIME_P95 = "response_time_p95", "Financial query response time p95 (ms)"
        SCORECARD_VS_TARGET = "scorecard_vs_target", "Scorecard metric vs its target"

    class Scope(models.TextChoices):
        ALL = "all", "The whole company (one instance)"
        DEPARTMENT = "department", "Each department"
        ACCOUNT = "account", "Each account"
        CAMPAIGN = "campaign", "Each campaign"
        CHANNEL = "channel", "Each channel"
        CONNECTOR = "connector", "Each connector"
        SEGMENT = "segment", "Each customer segment"
        SCORECARD_METRIC = "scorecard_metric", "Each scorecard metric"
        ANOMALY_SCOPE = "anomaly_scope", "Each anomaly series (campaign, account x department)"

    class Comparator(models.TextChoices):
        GT = "gt", "above"
        GTE = "gte", "at or above"
        LT = "lt", "below"
        LTE = "lte", "at or below"

    class NoDataAction(models.TextChoices):
        NO_DATA = "no_data", "Show as no data"
        KEEP = "keep", "Keep the last state"
        NORMAL = "normal", "Treat as normal"
        FIRING = "firing", "Treat as breaching"

    class ErrorAction(models.TextChoices):
        ERROR = "error", "Show as error"
        KEEP = "keep", "Keep the last state"
        FIRING = "firing", "Treat as breaching"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    builtin_key = models.CharField(max_length=60, unique=True, null=True, blank=True)
    enabled = models.BooleanField(default=True)
    metric = models.CharField(max_length=40, choices=Metric.choices)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.ALL)
    scope_filter = models.CharField(
        max_length=200,
        blank=True,
        help_text="One item's code or name (department code, campaign, connector name…); "
        "empty: every item of the scope.",
    )
    comparator = models.CharField(max_length=3, choices=Comparator.choices)
    threshold = models.DecimalField(max_digits=18, decimal_places=4)
    recovery_threshold = models.DecimalField(
        max_digits=18,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="A firing alert resolves only once the value is back past this (hysteresis); "
        "empty: the threshold.",
    )
    evaluation_interval_seconds = models.PositiveIntegerField(default=300)
    pending_evaluations = models.PositiveSmallIntegerField(
        default=1, help_text="Breaching evaluations in a row before it fires (1: at once)."
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    labels = models.JSONField(default=dict, blank=True)
    no_data_action = models.CharField(
        max_length=10, choices=NoDataAction.choices, default=NoDataAction.NO_DATA
    )
    error_action = models.CharField(
        max_length=10, choices=ErrorAction.choices, default=ErrorAction.ERROR
    )
    # Notification policy (Alertmanager's): instances with the same values of these labels
    # form one notification group.
    group_by = models.JSONField(default=list, blank=True)
    group_wait_seconds = models.PositiveIntegerField(default=30)
    group_interval_seconds = models.PositiveIntegerField(default=300)
    repeat_interval_seconds = models.PositiveIntegerField(default=4 * 3600)
    recipient_groups = models.ManyToManyField(Group, blank=True, related_name="alert_rules")
    recipient_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="alert_rules"
    )
    channels = models.ManyToManyField(
        "alerts.NotificationChannel", blank=True, related_name="rules"
    )
    next_evaluation_at = models.DateTimeField(default=timezone.now)
    # The last evaluation that failed outside the source read (a bug, a database error): shown
    # in the admin until an evaluation succeeds, so it is not only in the worker's log.
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pending_evaluations__gte=1), name="alerts_rule_pending_min"
            ),
            models.CheckConstraint(
                condition=models.Q(evaluation_interval_seconds__gte=10),
                name="alerts_rule_interval_min",
            ),
        ]
        indexes = [
            # The beat tick: enabled rules that are due.
            models.Index(fields=["enabled", "next_evaluation_at"], name="alerts_rule_due"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A scope the metric supports, and a recovery threshold on the normal side."""
        from alerts.computations.states import recovery_problem
        from alerts.sources import scope_problem

        errors = {}
        if self.metric and self.scope:
            problem = scope_problem(self.metric, self.scope)
            if problem:
                errors["scope"] = problem
        if self.comparator and self.threshold is not None:
            problem = recovery_problem(self.comparator, self.threshold, self.recovery_threshold)
            if problem:
                errors["recovery_threshold"] = problem
        if errors:
            raise ValidationError(errors)


class AlertInstance(models.Model):
    """One scoped item of a rule (``scope_key`` "" for the whole company) and its state.

    ``breaches`` counts the breaching evaluations in a row (the pending count);
    ``last_tick`` is the evaluation tick last applied, so a tick evaluated twice (two
    workers, a redelivered task) changes nothing the second time. ``fired_at`` is when the
    current firing began (the start of the time to decision)."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="instances")
    scope_key = models.CharField(max_length=200, blank=True)
    scope_label = models.CharField(max_length=300, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.NORMAL)
    value = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    breaches = models.PositiveIntegerField(default=0)
    state_since = models.DateTimeField(default=timezone.now)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_tick = models.DateTimeField(null=True, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # The latest evaluations' [tick ISO text, value text or null], oldest first and bounded
    # (the alert page's chart around an alert): no row per evaluation.
    samples = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["rule", "scope_key"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "scope_key"], name="alerts_instance_scope"),
        ]
        indexes = [
            # The alerts page and the header bell: what is firing or pending now.
            models.Index(fields=["state", "state_since"], name="alerts_instance_state"),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.scope_label or 'company'}"


class AlertTransition(models.Model):
    """One state change of an instance, with the value seen and the evaluation tick."""

    instance = models.ForeignKey(
        AlertInstance, on_delete=models.CASCADE, related_name="transitions"
    )
    from_state = models.CharField(max_length=10, choices=State.choices)
    to_state = models.CharField(max_length=10, choices=State.choices)
    value = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    tick = models.DateTimeField()
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # An alert's timeline, and the history list by time.
            models.Index(fields=["instance", "at"], name="alerts_transition_instance"),
            models.Index(fields=["at"], name="alerts_transition_at"),
        ]

    def __str__(self) -> str:
        return f"{self.instance}: {self.from_state} → {self.to_state}"
