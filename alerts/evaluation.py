"""Rule evaluation: the beat tick (:func:`rules_evaluate`), one rule's evaluation
(:func:`rule_evaluate`) and a resolve by hand (:func:`instance_resolve`).

Safe with several workers: each due rule is claimed with a conditional update of its
``next_evaluation_at`` (the one that changes the row evaluates it, the others skip it), and
an instance never applies a tick it has already applied (``last_tick``), so one tick is
applied once even if a task is redelivered or a rule is evaluated by hand at the same time.

Set-based: per rule one read of its values (``alerts.sources``), one read of its instances,
then one INSERT of the new instances, a few UPDATEs of the existing ones (every field of
those whose state changed; the value, breach count and samples of the rest) and one INSERT
of the transitions, whatever the number of items.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alerts.computations.states import Step, Terms, step
from alerts.models import AlertInstance, AlertRule, AlertTransition, State
from alerts.sources import COMPANY, SourceError, metric_values

__all__ = ["SAMPLES_KEPT", "instance_resolve", "rule_evaluate", "rules_evaluate"]

logger = logging.getLogger(__name__)

#: The latest evaluations kept on an instance for its chart.
SAMPLES_KEPT = 200
#: Instances per UPDATE: Django's bulk_update is one CASE per field with a branch per row,
#: which the database walks for every row (quadratic); batches of 100 keep it linear.
UPDATE_BATCH = 100
#: What changes at every tick (last_tick / last_evaluated_at: one value for all, set apart).
TICK_FIELDS = ["value", "breaches", "samples"]
UPDATED_FIELDS = [
    "scope_label",
    "labels",
    "state",
    "value",
    "breaches",
    "state_since",
    "last_evaluated_at",
    "last_tick",
    "fired_at",
    "resolved_at",
    "error",
    "samples",
]


def rule_terms(rule: AlertRule) -> Terms:
    return Terms(
        comparator=rule.comparator,
        threshold=rule.threshold,
        recovery_threshold=rule.recovery_threshold,
        pending_evaluations=rule.pending_evaluations,
        no_data_action=rule.no_data_action,
        error_action=rule.error_action,
    )


def instance_labels(rule: AlertRule, instance: AlertInstance) -> dict[str, str]:
    """The labels notifications group and silences match on (every value a string)."""
    return {
        **{str(key): str(value) for key, value in (rule.labels or {}).items()},
        "alertname": rule.name,
        "rule": str(rule.pk),
        "severity": rule.severity,
        "metric": rule.metric,
        "scope": rule.scope,
        "scope_key": instance.scope_key,
        "item": instance.scope_label,
    }


def _apply(
    instance: AlertInstance, result: Step, *, tick: dt.datetime, now: dt.datetime
) -> AlertTransition | None:
    """Store ``result`` on the instance; the transition to write when its state changed."""
    before = instance.state
    instance.state, instance.breaches = result.state, result.breaches
    instance.last_tick, instance.last_evaluated_at = tick, now
    if not result.changed:
        return None
    instance.state_since = tick
    if result.state == State.FIRING:
        instance.fired_at, instance.resolved_at = tick, None
    elif result.state == State.RESOLVED:
        instance.resolved_at = tick
    return AlertTransition(
        instance=instance,
        from_state=before,
        to_state=result.state,
        value=instance.value,
        tick=tick,
        at=now,
        note=instance.error[:500],
    )


def rule_evaluate(rule: AlertRule, *, tick: dt.datetime) -> list[AlertInstance]:
    """Evaluate ``rule`` at ``tick`` for every item of its scope (items gone from the source
    count as no data); returns the instances that applied this tick. Instances that already
    applied ``tick`` (or a later one) are left as they are."""
    return _evaluate(rule, tick=tick)[0]


def _evaluate(
    rule: AlertRule, *, tick: dt.datetime
) -> tuple[list[AlertInstance], list[AlertTransition]]:
    now = timezone.now()
    error = ""
    try:
        values = metric_values(rule, now=tick)
    except SourceError as exc:
        values, error = {}, str(exc)
    terms = rule_terms(rule)
    with transaction.atomic():
        existing = {i.scope_key: i for i in AlertInstance.objects.filter(rule=rule)}
        keys = list(values)
        keys += [key for key in existing if key not in values]
        if not keys and error and rule.scope == AlertRule.Scope.ALL:
            keys = [COMPANY[0]]  # a failed read still shows on the company instance
        created, updated, transitions = [], [], []
        # Existing instances whose state, labels or error changed get every field written;
        # the rest (most of them, most ticks) only what moves at each tick.
        full, light = [], []
        for key in keys:
            instance = existing.get(key)
            if instance is None:
                instance = AlertInstance(
                    rule=rule, scope_key=key, state=State.NORMAL, state_since=tick
                )
                created.append(instance)
            elif instance.last_tick is not None and instance.last_tick >= tick:
                continue
            else:
                updated.append(instance)
            before = (instance.scope_label, instance.labels, instance.error)
            label, value = values.get(key, (instance.scope_label or COMPANY[1], None))
            instance.scope_label = label
            instance.value = value
            instance.error = error
            instance.labels = instance_labels(rule, instance)
            samples = [*instance.samples, [tick.isoformat(), None if value is None else str(value)]]
            instance.samples = samples[-SAMPLES_KEPT:]
            result = step(
                state=instance.state,
                breaches_count=instance.breaches,
                value=value,
                error=bool(error),
                terms=terms,
            )
            transition = _apply(instance, result, tick=tick, now=now)
            if transition is not None:
                transitions.append(transition)
            if instance.pk is not None:
                same = before == (instance.scope_label, instance.labels, instance.error)
                (light if transition is None and same else full).append(instance)
        AlertInstance.objects.bulk_create(created)
        if full:
            AlertInstance.objects.bulk_update(full, UPDATED_FIELDS, batch_size=UPDATE_BATCH)
        if light:
            AlertInstance.objects.bulk_update(light, TICK_FIELDS, batch_size=UPDATE_BATCH)
            AlertInstance.objects.filter(pk__in=[i.pk for i in light]).update(
                last_tick=tick, last_evaluated_at=now
            )
        for transition in transitions:
            transition.instance_id = transition.instance.pk
        AlertTransition.objects.bulk_create(transitions)
    return created + updated, transitions


def _tick_of(rule: AlertRule, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The tick to apply (the latest point of the rule's schedule that is due: a backlog is
    skipped, not replayed) and the next one."""
    interval = dt.timedelta(seconds=rule.evaluation_interval_seconds)
    missed = (now - rule.next_evaluation_at) // interval
    tick = rule.next_evaluation_at + missed * interval
    return tick, tick + interval


def rules_evaluate(*, now: dt.datetime | None = None) -> dict:
    """Evaluate every enabled rule that is due. Each rule is claimed first (a conditional
    update of ``next_evaluation_at``): a rule another worker claimed is skipped. A rule whose
    evaluation fails is logged and tried again at its next tick."""
    now = now or timezone.now()
    due = AlertRule.objects.filter(enabled=True, next_evaluation_at__lte=now).order_by("pk")
    rules = instances = transitions = skipped = failed = 0
    for rule in due:
        tick, following = _tick_of(rule, now)
        claimed = AlertRule.objects.filter(
            pk=rule.pk, next_evaluation_at=rule.next_evaluation_at
        ).update(next_evaluation_at=following)
        if not claimed:
            skipped += 1
            continue
        try:
            evaluated, changes = _evaluate(rule, tick=tick)
        except Exception as error:
            # One broken rule must not stop the others; its writes rolled back (atomic), the
            # failure is logged with its traceback and kept on the rule for the admin.
            logger.exception("alert rule %s failed at tick %s", rule.pk, tick.isoformat())
            AlertRule.objects.filter(pk=rule.pk).update(
                last_error=f"{type(error).__name__}: {error}"[:500], last_error_at=now
            )
            failed += 1
            continue
        if rule.last_error:
            AlertRule.objects.filter(pk=rule.pk).update(last_error="", last_error_at=None)
        rules += 1
        instances += len(evaluated)
        transitions += len(changes)
    return {
        "rules_evaluated": str(rules),
        "rules_skipped": str(skipped),
        "rules_failed": str(failed),
        "instances": str(instances),
        "transitions": str(transitions),
    }


def instance_resolve(instance: AlertInstance, *, user, note: str) -> AlertInstance:
    """Resolve an alert by hand (the alerts page): ``resolved`` now, with a transition whose
    note names the user. It fires again if its value still breaches at the next
    evaluations (through the pending count, like any breach after a resolve)."""
    if instance.state in (State.NORMAL, State.RESOLVED):
        raise ValidationError(
            f"This alert is {instance.get_state_display().lower()}: nothing to resolve."
        )
    now = timezone.now()
    who = getattr(user, "get_username", lambda: str(user))()
    text = f"Resolved by {who}" + (f": {note.strip()}" if note and note.strip() else "")
    with transaction.atomic():
        locked = AlertInstance.objects.select_for_update().get(pk=instance.pk)
        if locked.state in (State.NORMAL, State.RESOLVED):
            raise ValidationError("This alert was resolved meanwhile.")
        AlertTransition.objects.create(
            instance=locked,
            from_state=locked.state,
            to_state=State.RESOLVED,
            value=locked.value,
            tick=now,
            at=now,
            note=text[:500],
        )
        locked.state, locked.breaches = State.RESOLVED, 0
        locked.state_since = locked.resolved_at = now
        locked.save(update_fields=["state", "breaches", "state_since", "resolved_at"])
    return locked
