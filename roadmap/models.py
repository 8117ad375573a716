"""The rollout programme FinHub governs itself with.

A programme has phases (with work items), a checklist (pre-implementation items and each
phase's deliverables), a risk register and success metrics with their measurements.
Every model keeps its change history (django-simple-history): who, when, before/after.
"""

import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from roadmap.evidence import evidence_check_choices

SCORE_MIN, SCORE_MAX = 1, 5
SOURCE_RE = r"^(manual|auto:[a-z0-9_.:-]+)$"


class Programme(models.Model):
    """A rollout programme; its start date turns phase week numbers into real dates."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    start_date = models.DateField(help_text="Monday of week 1.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["start_date", "name"]

    def __str__(self) -> str:
        return self.name

    def week_start(self, week: int) -> datetime.date:
        """First day of programme week ``week`` (1-based)."""
        return self.start_date + datetime.timedelta(weeks=week - 1)

    def week_end(self, week: int) -> datetime.date:
        """Last day of programme week ``week``."""
        return self.start_date + datetime.timedelta(weeks=week, days=-1)


class Phase(models.Model):
    """A phase of the programme, spanning whole weeks (week 1 starts on the start date).

    Its exit gate: the phase's deliverables closed (unless ``gate_requires_deliverables`` is
    off) and each of its ``gate_metrics`` measured at target and not stale. The status
    becomes complete only through ``roadmap.services.phase_complete``, which checks the gate
    (or records an audited override, ``PhaseGateOverride``).
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETE = "complete", "Complete"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="phases")
    number = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    start_week = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    end_week = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    status = models.CharField(
        max_length=12,
        choices=Status.choices,
        default=Status.PLANNED,
        help_text='Complete only through "Mark complete", which checks the phase\'s gate.',
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    gate_metrics = models.ManyToManyField(
        "SuccessMetric",
        blank=True,
        related_name="gated_phases",
        help_text="Success metrics this phase owns: each must be measured at target, and not "
        "stale, before the phase can be marked complete.",
    )
    gate_requires_deliverables = models.BooleanField(
        "gate requires the deliverables",
        default=True,
        help_text="Every deliverable of the phase must be done (or not applicable) before "
        "the phase can be marked complete.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["programme", "number"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "number"], name="phase_unique_number"),
            models.CheckConstraint(
                condition=Q(start_week__gte=1) & Q(end_week__gte=F("start_week")),
                name="phase_weeks_in_order",
            ),
            models.CheckConstraint(
                condition=Q(status="complete") | Q(completed_at__isnull=True),
                name="phase_completed_only_when_complete",
            ),
        ]
        # Not part of any role (finhub.core.roles grants only add/change/delete/view): an
        # administrator gives it to the project manager(s) who may overrule a gate.
        permissions = [
            ("override_phase_gate", "Can complete a phase whose gate does not hold, with a reason")
        ]

    def __str__(self) -> str:
        return f"Phase {self.number}: {self.name}"

    @property
    def start_date(self) -> datetime.date:
        return self.programme.week_start(self.start_week)

    @property
    def end_date(self) -> datetime.date:
        return self.programme.week_end(self.end_week)


class WorkItem(models.Model):
    """A piece of work a phase delivers (e.g. "ERP system integration")."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="work_items")
    key = models.SlugField(max_length=64)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="roadmap_work_items",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["phase__number", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "key"], name="workitem_unique_key"),
        ]

    def __str__(self) -> str:
        return self.title


class ChecklistItem(models.Model):
    """One box to tick: a pre-implementation task or a phase deliverable.

    ``completed_by``/``completed_at`` say who ticked it and when; they are set when the
    status becomes done and cleared when it leaves done (see ``roadmap.services``).
    """

    class Kind(models.TextChoices):
        PRE_IMPLEMENTATION = "pre_implementation", "Pre-implementation"
        DELIVERABLE = "deliverable", "Phase deliverable"

    class Status(models.TextChoices):
        TODO = "todo", "To do"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        BLOCKED = "blocked", "Blocked"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    class EvidenceState(models.TextChoices):
        VERIFIED = "verified", "Verified"
        MISSING = "missing", "Not verified yet"
        UNAVAILABLE = "unavailable", "Not checkable by FinHub"

    # Statuses that close an item: it can no longer be overdue.
    CLOSED = (Status.DONE, Status.NOT_APPLICABLE)

    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="checklist_items"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    phase = models.ForeignKey(
        Phase,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="checklist_items",
        help_text="Required for phase deliverables, empty for pre-implementation items.",
    )
    key = models.SlugField(max_length=64)
    title = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="roadmap_checklist_items",
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.TODO)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    evidence_url = models.URLField("evidence link", max_length=500, blank=True)
    notes = models.TextField(blank=True)
    # Evidence FinHub checks itself (roadmap/evidence.py): the check's key, and its last
    # answer, refreshed by a periodic task (overview.evidence). A first "verified" marks
    # the item done; the item's own status stays the project manager's to change.
    evidence_check = models.CharField(
        max_length=64,
        blank=True,
        choices=evidence_check_choices,
        help_text="What FinHub checks to verify this item by itself (empty: ticked by hand).",
    )
    evidence_state = models.CharField(
        max_length=12, choices=EvidenceState.choices, blank=True, editable=False
    )
    evidence_summary = models.CharField(max_length=300, blank=True, editable=False)
    evidence_link = models.CharField(
        "link to the evidence", max_length=200, blank=True, editable=False
    )
    evidence_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    evidence_verified_since = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # The check time changes on every refresh: not a change anyone needs in the history.
    history = HistoricalRecords(excluded_fields=["evidence_checked_at"])

    class Meta:
        # Pre-implementation items (no phase) first on every database.
        ordering = ["programme", F("phase__number").asc(nulls_first=True), "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "key"], name="checklistitem_unique_key"),
            models.CheckConstraint(
                condition=(Q(kind="deliverable") & Q(phase__isnull=False))
                | (Q(kind="pre_implementation") & Q(phase__isnull=True)),
                name="checklistitem_phase_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(status="done") | (Q(completed_at__isnull=True)),
                name="checklistitem_completed_only_when_done",
            ),
        ]
        indexes = [
            # The dashboard's "overdue and blocked" list and the overdue admin filter.
            models.Index(fields=["status", "due_date"], name="checklist_status_due_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        # Whatever path saves the row (admin, API, import), "done" carries a completion
        # time and nothing else does; the user is stamped by the services that know it.
        self.stamp_completion(by=self.completed_by)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "completed_at", "completed_by"}
        super().save(*args, **kwargs)

    @property
    def is_overdue(self) -> bool:
        return bool(
            self.due_date
            and self.status not in self.CLOSED
            and self.due_date < timezone.localdate()
        )

    def stamp_completion(self, *, by, at: datetime.datetime | None = None) -> None:
        """Record who completed the item and when, or clear it when it is not done."""
        if self.status == self.Status.DONE:
            if self.completed_at is None:
                self.completed_at = at or timezone.now()
                self.completed_by = by
        else:
            self.completed_at = None
            self.completed_by = None


class Risk(models.Model):
    """An entry of the risk register: likelihood x impact (1-5 each) gives its score."""

    class Category(models.TextChoices):
        TECHNICAL = "technical", "Technical"
        OPERATIONAL = "operational", "Operational"
        FINANCIAL = "financial", "Financial"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MITIGATING = "mitigating", "Mitigating"
        ACCEPTED = "accepted", "Accepted"
        CLOSED = "closed", "Closed"

    _score_validators = [MinValueValidator(SCORE_MIN), MaxValueValidator(SCORE_MAX)]

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="risks")
    key = models.SlugField(max_length=64)
    title = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.TextField(blank=True)
    likelihood = models.PositiveSmallIntegerField(validators=_score_validators)
    impact = models.PositiveSmallIntegerField(validators=_score_validators)
    score = models.GeneratedField(
        expression=F("likelihood") * F("impact"),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="roadmap_risks",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    review_date = models.DateField(null=True, blank=True)
    mitigation = models.TextField("mitigation actions", blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["score"])

    class Meta:
        ordering = ["-score", "title"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "key"], name="risk_unique_key"),
            models.CheckConstraint(
                condition=Q(likelihood__gte=SCORE_MIN, likelihood__lte=SCORE_MAX)
                & Q(impact__gte=SCORE_MIN, impact__lte=SCORE_MAX),
                name="risk_scores_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SuccessMetric(models.Model):
    """A success metric with its target; measurements (manual or automatic) track it.

    ``key`` is the stable machine name other apps push automatic measurements by.
    """

    class Group(models.TextChoices):
        INTEGRATION = "integration", "Integration success"
        FINANCIAL_PERFORMANCE = "financial_performance", "Financial performance"
        CROSS_DOMAIN = "cross_domain", "Cross-domain integration"

    class Unit(models.TextChoices):
        PERCENT = "percent", "%"
        POINTS = "points", "percentage points"
        SECONDS = "seconds", "s"
        COUNT = "count", "count"
        MONEY = "money", "reporting currency"
        RATIO = "ratio", "ratio"
        MONTHS = "months", "months"

    class Direction(models.TextChoices):
        AT_LEAST = "at_least", "At least (higher is better)"
        AT_MOST = "at_most", "At most (lower is better)"

    programme = models.ForeignKey(
        Programme, on_delete=models.CASCADE, related_name="success_metrics"
    )
    key = models.SlugField(max_length=64, unique=True)
    group = models.CharField(max_length=30, choices=Group.choices)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    target_value = models.DecimalField(max_digits=14, decimal_places=4)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    baseline = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="What the metric improves on. Reduction in financial reporting time and "
        "faster financial decision-making: the hours the process took before FinHub (nothing "
        "is measured while empty). Improvement metrics: the coverage at the start, in % "
        "(empty: the first measurement).",
    )
    cadence = models.DurationField(
        null=True,
        blank=True,
        help_text='How often the metric is measured (e.g. "1:00:00" hourly, "1 00:00:00" '
        "daily). A metric whose last measurement is older than its cadence plus half of it "
        "is flagged stale. Empty: never stale (measured by hand, whenever).",
    )
    order = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cadence__isnull=True) | Q(cadence__gt=datetime.timedelta(0)),
                name="successmetric_cadence_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_met(self, value) -> bool:
        if self.direction == self.Direction.AT_MOST:
            return value <= self.target_value
        return value >= self.target_value


class PhaseGateOverride(models.Model):
    """A phase completed although its gate did not hold: who, when, why, and the criteria
    that were not met at that moment (a snapshot; the gate itself moves on). Written only by
    ``roadmap.services.phase_complete``; never edited."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="gate_overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    # [{"kind", "key", "title", "state", "evidence", "url"}, …] (roadmap.gates.Criterion)
    unmet = models.JSONField(default=list)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="phasegateoverride_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.phase}: overridden {self.at:%Y-%m-%d %H:%M}"


class Measurement(models.Model):
    """One observed value of a success metric, typed in by a PM or pushed automatically.

    ``source`` is "manual" or "auto:<measurement key>" (e.g. "auto:connectors.reconciliation").
    """

    MANUAL = "manual"

    metric = models.ForeignKey(SuccessMetric, on_delete=models.CASCADE, related_name="measurements")
    value = models.DecimalField(max_digits=14, decimal_places=4)
    measured_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(
        max_length=100,
        default=MANUAL,
        validators=[
            RegexValidator(SOURCE_RE, "Source must be 'manual' or 'auto:<measurement key>'.")
        ],
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=500, blank=True)
    # What the value is about: a day ("2026-11-27"), a month ("2026-10"), a range. An automatic
    # source records a value again only when the value or its period changes, so a sync every
    # 15 minutes does not write the same figure 96 times a day (roadmap.services).
    period = models.CharField(max_length=40, blank=True)
    # When the same source last pushed this same value again for this period: no new row is
    # written then (see above), but the metric was measured, so it is not stale.
    confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # A re-confirmation is not a change of the value: no history entry for it.
    history = HistoricalRecords(excluded_fields=["confirmed_at"])

    class Meta:
        ordering = ["metric", "-measured_at", "-pk"]
        indexes = [
            # Latest value and recent trend per metric (the scorecard).
            models.Index(fields=["metric", "-measured_at"], name="measurement_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.metric.key} = {self.value} @ {self.measured_at:%Y-%m-%d %H:%M}"

    @property
    def last_measured_at(self) -> datetime.datetime:
        """When this value was last measured: its first time, or a later re-confirmation."""
        return max(self.measured_at, self.confirmed_at or self.measured_at)
