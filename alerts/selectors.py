"""Reads of the Alerts page and the header bell: set-based, a fixed number of queries each.

* :func:`alert_active_list` — what is firing or pending now, with each instance's current
  acknowledgement (2 queries);
* :func:`transition_history` — state changes with filters, paginated (2 queries);
* :func:`alert_timeline` — one instance's transitions, acknowledgements and notifications
  (5 queries);
* :func:`firing_count` — the bell (1 query).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Case, F, IntegerField, Max, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from alerts.models import (
    Acknowledgement,
    AlertGroup,
    AlertInstance,
    AlertRule,
    AlertTransition,
    Notification,
    Severity,
    State,
)
from records.models import Campaign, Channel, Department

HISTORY_PER_PAGE = 50
ACTIVE_STATES = (State.FIRING, State.PENDING)

# Most urgent first: firing before pending, critical before warning before info.
_SEVERITY_RANK = Case(
    When(rule__severity=Severity.CRITICAL, then=Value(0)),
    When(rule__severity=Severity.WARNING, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
_STATE_RANK = Case(
    When(state=State.FIRING, then=Value(0)),
    default=Value(1),
    output_field=IntegerField(),
)


def _current_acknowledgements(now: dt.datetime) -> QuerySet[Acknowledgement]:
    """Unexpired acknowledgements of the current firing (an acknowledgement of an earlier
    firing of the same instance does not own this one)."""
    return (
        Acknowledgement.objects.filter(expires_at__gt=now)
        .filter(Q(fired_at__isnull=True) | Q(fired_at=F("instance__fired_at")))
        .select_related("owner", "decided_by")
        .order_by("-created_at", "-id")
    )


def current_acknowledgement(instance: AlertInstance) -> Acknowledgement | None:
    """The acknowledgement prefetched by :func:`alert_active_list` / :func:`alert_timeline`."""
    current = getattr(instance, "current_acks", None)
    return current[0] if current else None


def alert_active_list(*, now: dt.datetime | None = None) -> list[AlertInstance]:
    """Firing then pending instances, most severe and oldest first, each with ``rule`` and
    ``current_acks`` (the current acknowledgement first)."""
    now = now or timezone.now()
    return list(
        AlertInstance.objects.filter(state__in=ACTIVE_STATES)
        .select_related("rule")
        .prefetch_related(
            Prefetch(
                "acknowledgements", queryset=_current_acknowledgements(now), to_attr="current_acks"
            )
        )
        .annotate(state_rank=_STATE_RANK, severity_rank=_SEVERITY_RANK)
        .order_by("state_rank", "severity_rank", "state_since", "id")
    )


def firing_count() -> int:
    """The header bell: instances firing now (one COUNT on the state index)."""
    return AlertInstance.objects.filter(state=State.FIRING).count()


@dataclass(frozen=True)
class HistoryFilters:
    """The history list's filters (empty: any). ``since``/``until`` are dates, inclusive."""

    state: str = ""
    severity: str = ""
    rule_id: int | None = None
    metric: str = ""
    since: dt.date | None = None
    until: dt.date | None = None


def alerting_summary() -> tuple[int, int, dt.datetime | None]:
    """(enabled rules, enabled rules with an enabled channel, latest evaluation time) for the
    rollout evidence "automated alerts are configured" (three cheap queries)."""
    enabled = AlertRule.objects.filter(enabled=True)
    notifying = enabled.filter(channels__enabled=True).distinct().count()
    latest = AlertInstance.objects.filter(rule__enabled=True).aggregate(
        at=Max("last_evaluated_at")
    )["at"]
    return enabled.count(), notifying, latest


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def transition_history(
    *, filters: HistoryFilters, page: int | str | None = 1, per_page: int = HISTORY_PER_PAGE
) -> Page:
    """Transitions, newest first, matching ``filters``: the requested page (out of range:
    the last one), each transition with its instance and rule."""
    rows = AlertTransition.objects.select_related("instance__rule").order_by("-at", "-id")
    if filters.state:
        rows = rows.filter(to_state=filters.state)
    if filters.severity:
        rows = rows.filter(instance__rule__severity=filters.severity)
    if filters.rule_id is not None:
        rows = rows.filter(instance__rule_id=filters.rule_id)
    if filters.metric:
        rows = rows.filter(instance__rule__metric=filters.metric)
    if filters.since:
        rows = rows.filter(at__gte=_day_start(filters.since))
    if filters.until:
        rows = rows.filter(at__lt=_day_start(filters.until + dt.timedelta(days=1)))
    return Paginator(rows, per_page).get_page(page)


def rule_choices() -> list[tuple[int, str]]:
    """(id, name) of every rule: the history filter's options."""
    return list(AlertRule.objects.order_by("name").values_list("pk", "name"))


def hours_to_decision(acknowledgement: Acknowledgement) -> Decimal | None:
    """Hours from the firing to the decision, to 0.1 h (None: not decided or firing unknown)."""
    if acknowledgement.decided_at is None or acknowledgement.fired_at is None:
        return None
    seconds = Decimal((acknowledgement.decided_at - acknowledgement.fired_at).total_seconds())
    return (seconds / Decimal(3600)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class TimelineEvent:
    at: dt.datetime
    kind: str  # "transition" | "acknowledgement" | "decision" | "notification"
    title: str
    detail: str = ""
    value: Decimal | None = None


@dataclass
class Timeline:
    instance: AlertInstance
    transitions: list[AlertTransition]
    acknowledgements: list[Acknowledgement]
    notifications: list[Notification]
    events: list[TimelineEvent] = field(default_factory=list)

    @property
    def acknowledgement(self) -> Acknowledgement | None:
        return current_acknowledgement(self.instance)


def _groups_of(instance: AlertInstance, groups: list[AlertGroup]) -> list[int]:
    """The notification groups an instance belongs to: its rule's groups whose grouping
    labels it carries with the same values."""
    labels = instance.labels or {}
    return [
        group.pk
        for group in groups
        if all(labels.get(key) == value for key, value in (group.labels or {}).items())
    ]


def dashboard_filter_value(instance: AlertInstance) -> str:
    """The dashboards' filter value of the instance's item (a department, campaign or
    channel's id; a segment's name), "" when the item is no dashboard filter option. The
    evaluation keys items by department code and campaign / channel name (one query)."""
    key, scope = instance.scope_key, instance.rule.scope
    if not key:
        return ""
    if scope == AlertRule.Scope.SEGMENT:
        return key
    models = {
        AlertRule.Scope.DEPARTMENT: (Department, Q(code=key) | Q(name=key)),
        AlertRule.Scope.CAMPAIGN: (Campaign, Q(name=key)),
        AlertRule.Scope.CHANNEL: (Channel, Q(name=key)),
    }
    if scope not in models:
        return ""
    model, match = models[scope]
    pk = model.objects.filter(match).order_by("pk").values_list("pk", flat=True).first()
    return "" if pk is None else str(pk)


def alert_instance_get(*, instance_id: int, now: dt.datetime | None = None) -> AlertInstance | None:
    """One instance with its rule and current acknowledgement, or None."""
    now = now or timezone.now()
    return (
        AlertInstance.objects.select_related("rule")
        .prefetch_related(
            Prefetch(
                "acknowledgements", queryset=_current_acknowledgements(now), to_attr="current_acks"
            )
        )
        .filter(pk=instance_id)
        .first()
    )


def alert_timeline(instance: AlertInstance) -> Timeline:
    """Everything that happened to ``instance``, newest first: its transitions, its
    acknowledgements (with the decision recorded) and the notifications of its group."""
    transitions = list(instance.transitions.order_by("-at", "-id"))
    acknowledgements = list(
        instance.acknowledgements.select_related("owner", "decided_by", "created_by").order_by(
            "-created_at", "-id"
        )
    )
    groups = list(AlertGroup.objects.filter(rule_id=instance.rule_id).only("pk", "labels"))
    notifications = list(
        Notification.objects.filter(group_id__in=_groups_of(instance, groups))
        .select_related("channel")
        .order_by("-created_at", "-id")[:200]
    )
    events = [
        TimelineEvent(
            at=t.at,
            kind="transition",
            title=f"{State(t.from_state).label} → {State(t.to_state).label}",
            detail=t.note,
            value=t.value,
        )
        for t in transitions
    ]
    for ack in acknowledgements:
        owner = ack.owner.get_full_name() or ack.owner.get_username()
        until = timezone.localtime(ack.expires_at)
        events.append(
            TimelineEvent(
                at=ack.created_at,
                kind="acknowledgement",
                title=f"Acknowledged: {owner} owns it until {until:%Y-%m-%d %H:%M}",
                detail=ack.note,
            )
        )
        if ack.decided_at:
            events.append(
                TimelineEvent(
                    at=ack.decided_at, kind="decision", title="Decision", detail=ack.decision
                )
            )
    for note in notifications:
        status = note.get_status_display()
        error = f": {note.last_error}" if note.last_error else ""
        attempts = f"{note.attempts} attempt{'s' if note.attempts != 1 else ''}"
        events.append(
            TimelineEvent(
                at=note.sent_at or note.created_at,
                kind="notification",
                title=f"{note.get_kind_display()} notice to {note.channel}",
                detail=f"{status} after {attempts}{error}",
            )
        )
    events.sort(key=lambda event: event.at, reverse=True)
    return Timeline(instance, transitions, acknowledgements, notifications, events)
