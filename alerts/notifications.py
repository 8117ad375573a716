"""Notifications: plan what each alert group calls for, then deliver the outbox with retries.

``notifications_process`` runs after every evaluation tick (alerts.tasks), and is safe with
two workers at once:

- planning locks each group row while it decides (PostgreSQL; SQLite serialises writers),
  and every message has a ``dedup_key`` derived from the group's state, unique in the
  database, so a second planner that read the same state cannot queue it again;
- delivery claims each due notification with a conditional update (moving its
  ``next_attempt_at`` past a lease), so only one worker sends it; a worker that dies while
  sending leaves it to be retried when the lease runs out.

A delivery that fails is retried with exponential backoff up to the channel's
``max_attempts`` and then kept as failed; the channel shows ``failing`` and the error
until a delivery through it succeeds again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alerts.acknowledgements import acknowledged_instance_ids, silences_active
from alerts.channels import ChannelError, channel_send
from alerts.computations import grouping
from alerts.models import (
    AlertGroup,
    AlertInstance,
    AlertRule,
    Notification,
    NotificationChannel,
    State,
)

logger = logging.getLogger(__name__)

# Longer than any delivery may take (the channels' timeouts): a claimed notification is
# not claimed again before, and is retried after it if its worker died.
CLAIM_LEASE = dt.timedelta(minutes=5)
DISPATCH_BATCH = 200


def notifications_process(*, now: dt.datetime | None = None) -> dict:
    """Plan the messages the alert groups call for at ``now``, then send the due ones."""
    now = now or timezone.now()
    planned = notifications_plan(now=now)
    sent, failed, retried = notifications_dispatch(now=now)
    return {
        "notifications_queued": str(planned),
        "notifications_sent": str(sent),
        "notifications_retrying": str(retried),
        "notifications_failed": str(failed),
    }


# --- Planning --------------------------------------------------------------------------


def notifications_plan(*, now: dt.datetime) -> int:
    """Upsert the groups of firing instances and decide each open group; returns how many
    notifications were queued."""
    instances = list(
        AlertInstance.objects.filter(state=State.FIRING, rule__enabled=True).select_related("rule")
    )
    silences = silences_active(now=now)
    acknowledged = acknowledged_instance_ids(instances, now=now)
    firing: dict[tuple[int, str], set[int]] = defaultdict(set)
    muted: dict[tuple[int, str], set[int]] = defaultdict(set)
    group_labels: dict[tuple[int, str], dict[str, str]] = {}
    by_id: dict[int, AlertInstance] = {}
    for instance in instances:
        by_id[instance.pk] = instance
        labels = instance.labels or {}
        key = (instance.rule_id, grouping.group_key(labels, instance.rule.group_by or []))
        group_labels[key] = grouping.group_labels(labels, instance.rule.group_by or [])
        silenced = any(grouping.matchers_match(s.matchers, labels) for s in silences)
        (muted if silenced or instance.pk in acknowledged else firing)[key].add(instance.pk)

    groups = {
        (g.rule_id, g.group_key): g
        for g in AlertGroup.objects.filter(active_since__isnull=False, rule__enabled=True)
    }
    for key in group_labels.keys() - groups.keys():
        rule_id, group_key = key
        groups[key], _ = AlertGroup.objects.get_or_create(
            rule_id=rule_id,
            group_key=group_key,
            defaults={"labels": group_labels[key], "first_seen_at": now},
        )
    rules = _rules_with_recipients({rule_id for rule_id, _ in groups})
    queued = 0
    for key, group in groups.items():
        queued += _group_plan(
            group.pk,
            rules[key[0]],
            firing=frozenset(firing.get(key, ())),
            muted=frozenset(muted.get(key, ())),
            instances=by_id,
            now=now,
        )
    return queued


def _rules_with_recipients(rule_ids: set[int]) -> dict[int, AlertRule]:
    rules = AlertRule.objects.filter(pk__in=rule_ids).prefetch_related(
        "channels", "recipient_users", "recipient_groups"
    )
    return {rule.pk: rule for rule in rules}


def rule_recipients(rule: AlertRule) -> list[str]:
    """Emails of the rule's users and of the active users of its groups, sorted, unique."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    direct = users.filter(alert_rules=rule).values_list("email", flat=True)
    via_groups = users.filter(groups__alert_rules=rule).values_list("email", flat=True)
    return sorted(set(direct) | set(via_groups))


def _group_plan(
    group_id: int,
    rule: AlertRule,
    *,
    firing: frozenset[int],
    muted: frozenset[int],
    instances: dict[int, AlertInstance],
    now: dt.datetime,
) -> int:
    policy = grouping.Policy(
        group_wait=dt.timedelta(seconds=rule.group_wait_seconds),
        group_interval=dt.timedelta(seconds=rule.group_interval_seconds),
        repeat_interval=dt.timedelta(seconds=rule.repeat_interval_seconds),
    )
    with transaction.atomic():
        # The lock makes a second planner wait and then see this one's result.
        group = AlertGroup.objects.select_for_update().get(pk=group_id)
        state = grouping.GroupState(
            active_since=group.active_since,
            last_notified_at=group.last_notified_at,
            notified=frozenset(group.notified_instances),
        )
        decision = grouping.group_decide(state, policy, firing=firing, muted=muted, now=now)
        queued = 0
        if decision.kind is not None:
            queued = _queue(group, rule, decision, instances, previous=state, now=now)
        elif decision.state == state:
            return 0  # waiting, nothing changed: no write
        group.active_since = decision.state.active_since
        group.last_notified_at = decision.state.last_notified_at
        group.notified_instances = sorted(decision.state.notified)
        group.fingerprint = grouping.fingerprint(decision.state.notified)
        group.save(
            update_fields=["active_since", "last_notified_at", "notified_instances", "fingerprint"]
        )
    return queued


def _queue(
    group: AlertGroup,
    rule: AlertRule,
    decision: grouping.Decision,
    instances: dict[int, AlertInstance],
    *,
    previous: grouping.GroupState,
    now: dt.datetime,
) -> int:
    assert decision.kind is not None
    resolved = AlertInstance.objects.filter(pk__in=decision.resolved).select_related("rule")
    alerts = [instances[pk] for pk in sorted(decision.firing)] + sorted(resolved, key=_pk)
    payload = notification_payload(group, rule, kind=decision.kind, alerts=alerts, now=now)
    queued = 0
    recipients: list[str] | None = None
    for channel in rule.channels.all():
        if not channel.enabled:
            continue
        if channel.kind == NotificationChannel.Kind.EMAIL and recipients is None:
            recipients = rule_recipients(rule)
        key = grouping.message_key(
            group_id=group.pk,
            channel_id=channel.pk,
            kind=decision.kind,
            firing=decision.firing,
            resolved=decision.resolved,
            previous_sent_at=previous.last_notified_at,
        )
        try:
            with transaction.atomic():
                _, created = Notification.objects.get_or_create(
                    dedup_key=key,
                    defaults={
                        "group": group,
                        "channel": channel,
                        "kind": decision.kind,
                        "payload": payload,
                        "recipients": recipients
                        if channel.kind == NotificationChannel.Kind.EMAIL
                        else [],
                        "next_attempt_at": now,
                        "created_at": now,
                    },
                )
        except IntegrityError:
            created = False  # another worker queued it between our read and our insert
        queued += created
    return queued


def _pk(instance: AlertInstance) -> int:
    return instance.pk


def alert_link(instance_id: int) -> str:
    """The alert's page: absolute when FINHUB_BASE_URL is configured, else site-relative."""
    base = settings.FINHUB_BASE_URL.rstrip("/")
    return f"{base}/alerts/{instance_id}/"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def notification_payload(
    group: AlertGroup,
    rule: AlertRule,
    *,
    kind: str,
    alerts: Iterable[AlertInstance],
    now: dt.datetime,
) -> dict:
    """The JSON document a message carries (the webhook body; emails are written from it)."""
    rows = []
    for instance in alerts:
        rows.append(
            {
                "id": instance.pk,
                "rule": rule.name,
                "item": instance.scope_label,
                "scope_key": instance.scope_key,
                "state": "firing" if instance.state == State.FIRING else "resolved",
                "value": _text(instance.value),
                "threshold": _text(rule.threshold),
                "comparator": rule.comparator,
                "severity": rule.severity,
                "fired_at": instance.fired_at.isoformat() if instance.fired_at else None,
                "labels": instance.labels or {},
                "link": alert_link(instance.pk),
            }
        )
    return {
        "kind": kind,
        "severity": rule.severity,
        "rule": {"id": rule.pk, "name": rule.name, "metric": rule.metric},
        "group": {"key": group.group_key, "labels": group.labels},
        "firing": sum(1 for row in rows if row["state"] == "firing"),
        "resolved": sum(1 for row in rows if row["state"] == "resolved"),
        "alerts": rows,
        "sent_at": now.isoformat(),
    }


# --- Delivery --------------------------------------------------------------------------


def notifications_dispatch(*, now: dt.datetime) -> tuple[int, int, int]:
    """Send the due pending notifications; returns (sent, failed for good, to retry)."""
    due = list(
        Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "next_attempt_at")[:DISPATCH_BATCH]
    )
    sent = failed = retried = 0
    for pk, due_at in due:
        outcome = notification_deliver(pk, due_at=due_at, now=now)
        sent += outcome == "sent"
        failed += outcome == "failed"
        retried += outcome == "retry"
    return sent, failed, retried


def notification_claim(pk: int, *, due_at: dt.datetime, now: dt.datetime) -> bool:
    """Claim a due notification (one worker wins: the others' update matches no row)."""
    claimed = Notification.objects.filter(
        pk=pk, status=Notification.Status.PENDING, next_attempt_at=due_at
    ).update(next_attempt_at=now + CLAIM_LEASE, attempts=F("attempts") + 1)
    return claimed == 1


def notification_deliver(pk: int, *, due_at: dt.datetime, now: dt.datetime) -> str:
    """Claim and send one notification: "sent", "retry", "failed" or "" (not claimed)."""
    if not notification_claim(pk, due_at=due_at, now=now):
        return ""
    notification = Notification.objects.select_related("channel").get(pk=pk)
    channel = notification.channel
    try:
        if not channel.enabled:
            raise ChannelError("The channel is disabled.")
        channel_send(channel, payload=notification.payload, recipients=notification.recipients)
    except ChannelError as exc:
        return _delivery_failed(notification, str(exc), now=now)
    Notification.objects.filter(pk=pk).update(
        status=Notification.Status.SENT, sent_at=now, last_error=""
    )
    # update(): a delivery is not an edit of the channel (no history row per message).
    NotificationChannel.objects.filter(pk=channel.pk).update(
        failing=False, last_error="", last_success_at=now
    )
    return "sent"


def _delivery_failed(notification: Notification, error: str, *, now: dt.datetime) -> str:
    error = error[:500]
    give_up = notification.attempts >= notification.channel.max_attempts
    fields: dict[str, object] = {"last_error": error}
    if give_up:
        fields["status"] = Notification.Status.FAILED
    else:
        fields["next_attempt_at"] = now + grouping.retry_delay(notification.attempts)
    Notification.objects.filter(pk=notification.pk).update(**fields)
    NotificationChannel.objects.filter(pk=notification.channel_id).update(
        failing=True, last_error=error, last_failure_at=now
    )
    logger.warning(
        "alert notification %s via %s failed (attempt %s%s): %s",
        notification.pk,
        notification.channel.name,
        notification.attempts,
        ", giving up" if give_up else "",
        error,
    )
    return "failed" if give_up else "retry"
