"""Where alerts go (channels), how they are grouped and de-duplicated (groups and the
notification outbox), and what people do about them (silences, acknowledgements)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class NotificationChannel(models.Model):
    """An email channel (mails the rule's recipients) or a webhook (JSON POST signed with
    HMAC-SHA256 over ``<unix time>.<body>``, header ``X-FinHub-Signature: t=…,v1=…``, the
    push API's scheme; optionally a Slack-compatible payload). ``secret_encrypted`` holds the
    signing secret encrypted at rest. A channel whose last delivery failed is ``failing``."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email to the rule's recipients"
        WEBHOOK = "webhook", "Webhook (signed JSON POST)"

    class PayloadFormat(models.TextChoices):
        FINHUB = "finhub", "FinHub JSON"
        SLACK = "slack", "Slack-compatible"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    url = models.URLField(blank=True)
    secret_encrypted = models.TextField(blank=True)
    payload_format = models.CharField(
        max_length=10, choices=PayloadFormat.choices, default=PayloadFormat.FINHUB
    )
    enabled = models.BooleanField(default=True)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    failing = models.BooleanField(default=False)
    last_error = models.CharField(max_length=500, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["secret_encrypted"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AlertGroup(models.Model):
    """The instances of one rule sharing the values of its ``group_by`` labels: what one
    notification covers. ``notified_instances`` (and its hash ``fingerprint``) is the set of
    firing instances last notified, so an unchanged group is not re-sent before the repeat
    interval and an instance that stops firing gets one resolved notice. ``active_since`` is
    when the current episode began (group wait counts from it); empty while nothing fires
    and nothing is left to report."""

    rule = models.ForeignKey("alerts.AlertRule", on_delete=models.CASCADE, related_name="groups")
    group_key = models.CharField(max_length=300)
    labels = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    active_since = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    notified_instances = models.JSONField(default=list, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["rule", "group_key"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "group_key"], name="alerts_group_key"),
        ]
        indexes = [
            # The planner: groups with an episode under way (something to send or resolve).
            models.Index(fields=["active_since"], name="alerts_group_active"),
        ]

    def __str__(self) -> str:
        return f"{self.rule}: {self.group_key}"


class Notification(models.Model):
    """One message to one channel (the outbox): created once per ``dedup_key`` (unique, so
    two workers cannot queue the same message), sent with retries and backoff, never
    silently dropped (a failure is kept with its error)."""

    class Kind(models.TextChoices):
        FIRING = "firing", "Firing"
        REPEAT = "repeat", "Still firing (repeat)"
        RESOLVED = "resolved", "Resolved"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    group = models.ForeignKey(AlertGroup, on_delete=models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    dedup_key = models.CharField(max_length=200, unique=True)
    payload = models.JSONField(default=dict)
    recipients = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The dispatcher: pending messages that are due.
            models.Index(fields=["status", "next_attempt_at"], name="alerts_notification_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.channel}"


class Silence(models.Model):
    """Mutes notifications of the alert instances whose labels match every matcher
    (``[{"label": …, "op": "=" | "!=" | "=~", "value": …}]``; ``=~`` a full regular
    expression) between ``starts_at`` and ``ends_at``. States are still evaluated and kept."""

    matchers = models.JSONField(default=list)
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField()
    comment = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="alert_silences"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-ends_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="alerts_silence_period_order",
            ),
        ]
        indexes = [
            # Active silences at dispatch time.
            models.Index(fields=["ends_at"], name="alerts_silence_ends"),
        ]

    def __str__(self) -> str:
        return f"Silence until {self.ends_at:%Y-%m-%d %H:%M}: {self.comment}"


class Acknowledgement(models.Model):
    """Someone owns a firing alert until ``expires_at`` (notifications of it pause; when the
    acknowledgement expires and it still fires, it is notified again), with a note, and
    later the ``decision`` taken. ``fired_at`` copies when that firing began, so the time
    from firing to decision is ``decided_at - fired_at``."""

    instance = models.ForeignKey(
        "alerts.AlertInstance", on_delete=models.CASCADE, related_name="acknowledgements"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="alert_acknowledgements"
    )
    note = models.TextField(blank=True)
    expires_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    decision = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alert_decisions",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # simple_history's historical models have their own ``instance`` attribute, which a
    # field of that name would clash with; the alert never changes, the history row's id
    # leads back to it.
    history = HistoricalRecords(excluded_fields=["instance"])

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The instance's current acknowledgement (the newest unexpired one).
            models.Index(fields=["instance", "expires_at"], name="alerts_ack_instance"),
        ]

    def __str__(self) -> str:
        return f"Acknowledged by {self.owner} until {self.expires_at:%Y-%m-%d %H:%M}"
