"""What people do about alerts: silences (mute matching instances for a while),
acknowledgements (own a firing alert until an expiry) and the decision taken, which feeds
the scorecard's "faster financial decision-making"."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alerts.computations import grouping
from alerts.computations.decisions import decision_speed_percent, hours_between
from alerts.models import Acknowledgement, AlertInstance, Silence, State
from metrics.services import measurement_push
from roadmap.selectors import metric_list

logger = logging.getLogger(__name__)

DECISIONS_METRIC = "faster_financial_decisions"
DECISIONS_SOURCE = "auto:alerts.decisions"
DECISIONS_WINDOW = dt.timedelta(days=90)


# --- Silences --------------------------------------------------------------------------


def silence_create(
    *,
    matchers: list[dict],
    starts_at: dt.datetime | None,
    ends_at: dt.datetime,
    comment: str,
    by: User,
) -> Silence:
    """Mute the instances whose labels match every matcher from ``starts_at`` (default: now)
    to ``ends_at``. Raises ValidationError naming the field (``matchers`` with the bad
    matcher's number, ``ends_at``, ``comment``)."""
    now = timezone.now()
    starts_at = starts_at or now
    problems = grouping.matcher_problems(matchers)
    if problems:
        raise ValidationError({"matchers": problems})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The silence must end after it starts."})
    if ends_at <= now:
        raise ValidationError({"ends_at": "The silence must end in the future."})
    if not (comment or "").strip():
        raise ValidationError({"comment": "Say why the alerts are silenced."})
    silence = Silence(
        matchers=[
            {"label": m["label"].strip(), "op": m["op"], "value": m["value"]} for m in matchers
        ],
        starts_at=starts_at,
        ends_at=ends_at,
        comment=comment.strip(),
        created_by=by,
    )
    silence._history_user = by  # type: ignore[attr-defined]
    silence.full_clean()
    silence.save()
    return silence


def silence_expire(silence: Silence, *, by: User) -> Silence:
    """End a silence now (kept, for the audit trail). A silence that has not started yet
    ends before it starts (the period must stay ordered)."""
    now = timezone.now()
    if silence.ends_at <= now:
        return silence
    silence.ends_at = now
    if silence.starts_at >= now:
        silence.starts_at = now - dt.timedelta(microseconds=1)
    silence._history_user = by  # type: ignore[attr-defined]
    silence.save(update_fields=["starts_at", "ends_at"])
    return silence


def silence_active(silence: Silence, *, now: dt.datetime) -> bool:
    return silence.starts_at <= now < silence.ends_at


def silence_matches(silence: Silence, labels: Mapping[str, str]) -> bool:
    """Whether the silence's matchers all match these labels (whatever its period)."""
    return grouping.matchers_match(silence.matchers, labels)


def silences_active(*, now: dt.datetime | None = None) -> list[Silence]:
    now = now or timezone.now()
    return list(Silence.objects.filter(starts_at__lte=now, ends_at__gt=now))


def instance_silenced(
    instance: AlertInstance,
    *,
    now: dt.datetime | None = None,
    silences: Iterable[Silence] | None = None,
) -> Silence | None:
    """The active silence muting this instance, if any (pass ``silences`` when checking
    many instances: one query for all)."""
    now = now or timezone.now()
    candidates = silences_active(now=now) if silences is None else silences
    for silence in candidates:
        if silence_active(silence, now=now) and silence_matches(silence, instance.labels or {}):
            return silence
    return None


# --- Acknowledgements ------------------------------------------------------------------


def alert_acknowledge(
    instance: AlertInstance, *, owner: User, note: str, expires_at: dt.datetime, by: User
) -> Acknowledgement:
    """``owner`` takes a firing alert until ``expires_at``: its notifications pause, and
    resume if it still fires then."""
    if instance.state != State.FIRING:
        raise ValidationError({"instance": "Only a firing alert can be acknowledged."})
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The acknowledgement must expire in the future."})
    acknowledgement = Acknowledgement(
        instance=instance,
        owner=owner,
        note=note or "",
        expires_at=expires_at,
        fired_at=instance.fired_at,
        created_by=by,
    )
    acknowledgement._history_user = by  # type: ignore[attr-defined]
    acknowledgement.save()
    return acknowledgement


def acknowledged_instance_ids(
    instances: Iterable[AlertInstance], *, now: dt.datetime | None = None
) -> set[int]:
    """The instances held by an unexpired acknowledgement of their current firing (an
    acknowledgement of an earlier firing does not mute a new one)."""
    now = now or timezone.now()
    fired = {instance.pk: instance.fired_at for instance in instances}
    rows = Acknowledgement.objects.filter(instance_id__in=fired, expires_at__gt=now).values_list(
        "instance_id", "fired_at"
    )
    return {pk for pk, fired_at in rows if fired_at is None or fired_at == fired[pk]}


def alert_decide(acknowledgement: Acknowledgement, *, decision: str, by: User) -> Acknowledgement:
    """Record what was decided about an acknowledged alert. The first decision's time is
    kept (the time from firing to decision); a later edit changes only the text."""
    decision = (decision or "").strip()
    if not decision:
        raise ValidationError({"decision": "Say what was decided."})
    acknowledgement.decision = decision
    acknowledgement.decided_by = by
    if acknowledgement.decided_at is None:
        acknowledgement.decided_at = timezone.now()
    acknowledgement._history_user = by  # type: ignore[attr-defined]
    acknowledgement.save(update_fields=["decision", "decided_by", "decided_at"])
    transaction.on_commit(decision_hours_push)
    return acknowledgement


def decision_hours_push(*, now: dt.datetime | None = None) -> bool:
    """Push "faster financial decision-making" = 1 - median(hours from firing to decision,
    decisions of the last 90 days) / baseline hours, in %. Nothing while the baseline is
    empty or no decision exists."""
    now = now or timezone.now()
    baseline = metric_list().filter(key=DECISIONS_METRIC).values_list("baseline", flat=True)
    baseline_hours = next(iter(baseline), None)
    rows = Acknowledgement.objects.filter(
        decided_at__gt=now - DECISIONS_WINDOW,
        decided_at__lte=now,
        fired_at__isnull=False,
    ).values_list("fired_at", "decided_at")
    hours = [
        hours_between(fired_at, decided_at)
        for fired_at, decided_at in rows
        if fired_at is not None and decided_at is not None  # the filter ensures it
    ]
    result = decision_speed_percent(hours, baseline_hours=baseline_hours)
    if result is None:
        return False
    percent, median = result
    note = (
        f"Median {median:.2f} h from firing to decision over {len(hours)} decisions "
        f"(last 90 days); baseline {baseline_hours} h."
    )
    return measurement_push(DECISIONS_METRIC, percent, DECISIONS_SOURCE, note)
