"""Writes for the roadmap: loading the programme, ticking items, checking their evidence,
completing phases through their gates, recording measurements."""

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from roadmap import programme as spec
from roadmap import selectors
from roadmap.evidence import VERIFIED, EvidenceFacts, evidence_for
from roadmap.gates import Gate
from roadmap.models import (
    SOURCE_RE,
    ChecklistItem,
    Measurement,
    Phase,
    PhaseGateOverride,
    Programme,
    Risk,
    SuccessMetric,
    WorkItem,
)

# --- Programme loading -----------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    """How many rows ``programme_load`` created this time, per kind (0 on a re-run)."""

    programme: Programme
    created: dict[str, int]


def programme_default_start(*, today: datetime.date | None = None) -> datetime.date:
    """Monday of the week ``WEEKS_BEFORE_TODAY_AT_FIRST_LOAD`` weeks before today."""
    today = today or timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    return monday - datetime.timedelta(weeks=spec.WEEKS_BEFORE_TODAY_AT_FIRST_LOAD)


@transaction.atomic
def programme_load(
    *, start_date: datetime.date | None = None, owners: Mapping[str, object] | None = None
) -> LoadResult:
    """Create the shipped programme's rows that are missing; never change existing ones.

    Rows are matched by natural key (programme key, phase number, work item / checklist /
    risk / metric key), so a row a PM renamed, re-dated or re-scored stays as it is, and a
    row a PM deleted comes back. ``start_date`` applies only when the programme is created.
    ``owners`` maps a role (finhub.core.roles) to the user who owns the rows the programme
    gives that role; a created row whose role has no user gets no owner.
    """
    owners = owners or {}
    created = dict.fromkeys(
        ("programme", "phases", "work_items", "checklist_items", "risks", "success_metrics"), 0
    )
    programme, made = Programme.objects.get_or_create(
        key=spec.PROGRAMME_KEY,
        defaults={
            "name": spec.PROGRAMME_NAME,
            "description": spec.PROGRAMME_DESCRIPTION,
            "start_date": start_date or programme_default_start(),
        },
    )
    created["programme"] += made

    phases = {p.number: p for p in programme.phases.all()}
    existing_work = set(
        WorkItem.objects.filter(phase__programme=programme).values_list("phase__number", "key")
    )
    existing_checklist = set(programme.checklist_items.values_list("key", flat=True))
    new_phases = []
    for phase_spec in spec.PHASES:
        phase = phases.get(phase_spec.number)
        if phase is None:
            phase = Phase.objects.create(
                programme=programme,
                number=phase_spec.number,
                name=phase_spec.name,
                start_week=phase_spec.start_week,
                end_week=phase_spec.end_week,
                status=phase_initial_status(
                    start=programme.week_start(phase_spec.start_week),
                    today=timezone.localdate(),
                ),
            )
            phases[phase.number] = phase
            new_phases.append(phase)
            created["phases"] += 1
        for order, item in enumerate(phase_spec.work_items, start=1):
            if (phase.number, item.key) in existing_work:
                continue
            WorkItem.objects.create(
                phase=phase,
                key=item.key,
                title=item.title,
                description=item.description,
                order=order,
                owner=owners.get(item.owner),
            )
            created["work_items"] += 1
        for order, deliverable in enumerate(phase_spec.deliverables, start=1):
            if deliverable.key in existing_checklist:
                continue
            ChecklistItem.objects.create(
                programme=programme,
                kind=ChecklistItem.Kind.DELIVERABLE,
                phase=phase,
                key=deliverable.key,
                title=deliverable.title,
                order=order,
                due_date=phase.end_date,
                owner=owners.get(deliverable.owner),
                evidence_check=deliverable.evidence_check,
            )
            created["checklist_items"] += 1

    for order, item in enumerate(spec.PRE_IMPLEMENTATION, start=1):
        if item.key in existing_checklist:
            continue
        ChecklistItem.objects.create(
            programme=programme,
            kind=ChecklistItem.Kind.PRE_IMPLEMENTATION,
            key=item.key,
            title=item.title,
            order=order,
            due_date=programme.start_date,  # done before week 1 starts
            owner=owners.get(item.owner),
        )
        created["checklist_items"] += 1

    existing_risks = set(programme.risks.values_list("key", flat=True))
    for risk in spec.RISKS:
        if risk.key in existing_risks:
            continue
        Risk.objects.create(
            programme=programme,
            key=risk.key,
            title=risk.title,
            category=risk.category,
            likelihood=risk.likelihood,
            impact=risk.impact,
            mitigation=risk.mitigation,
            review_date=programme.week_end(4),
            owner=owners.get(risk.owner),
        )
        created["risks"] += 1

    existing_metrics = set(SuccessMetric.objects.values_list("key", flat=True))
    for order, metric in enumerate(spec.METRICS, start=1):
        if metric.key in existing_metrics:
            continue
        SuccessMetric.objects.create(
            programme=programme,
            key=metric.key,
            group=metric.group,
            name=metric.name,
            description=metric.description,
            target_value=metric.target,
            unit=metric.unit,
            direction=metric.direction,
            cadence=spec.METRIC_CADENCES.get(metric.key),
            order=order,
        )
        created["success_metrics"] += 1

    # A phase created now gets its shipped gate; an existing one keeps what the PM set.
    metric_ids = dict(SuccessMetric.objects.values_list("key", "pk"))
    for phase in new_phases:
        keys = spec.PHASE_GATE_METRICS.get(phase.number, ())
        phase.gate_metrics.set([metric_ids[key] for key in keys if key in metric_ids])
    return LoadResult(programme=programme, created=created)


def phase_initial_status(*, start: datetime.date, today: datetime.date) -> str:
    """A phase is planned until its first day, then in progress (until completed)."""
    return Phase.Status.IN_PROGRESS if start <= today else Phase.Status.PLANNED


@transaction.atomic
def programme_preparation_done(*, programme: Programme, user) -> int:
    """Mark the pre-implementation items still to do as done by ``user`` the working day
    before week 1 (the demo: a programme that started weeks ago was prepared before it).
    Returns how many items changed; items already moved on by someone are left alone."""
    before_start = datetime.datetime.combine(
        programme.start_date - datetime.timedelta(days=3),
        datetime.time(17, 0),
        tzinfo=timezone.get_current_timezone(),
    )
    changed = 0
    items = programme.checklist_items.filter(
        kind=ChecklistItem.Kind.PRE_IMPLEMENTATION, status=ChecklistItem.Status.TODO
    ).select_for_update()
    for item in items.order_by("order", "pk"):
        item.status = ChecklistItem.Status.DONE
        item.stamp_completion(by=_real_user(user), at=before_start)
        _with_history_user(item, user)
        item.save()
        changed += 1
    return changed


def programme_totals(*, programme: Programme) -> dict[str, int]:
    """How many rows of each kind the programme has (same keys as ``LoadResult.created``)."""
    return {
        "phases": programme.phases.count(),
        "work_items": WorkItem.objects.filter(phase__programme=programme).count(),
        "checklist_items": programme.checklist_items.count(),
        "risks": programme.risks.count(),
        "success_metrics": programme.success_metrics.count(),
    }


# --- Checklist -------------------------------------------------------------------------


def _real_user(user):
    """``user`` if it is a stored user; None for anonymous users and API-token principals."""
    if isinstance(user, get_user_model()) and user.pk is not None:
        return user
    return None


def _with_history_user(instance, user) -> None:
    # Set even when None: the history must not fall back to a request.user that is an API
    # token principal rather than a user row.
    instance._history_user = _real_user(user)


def checklist_item_save(*, item: ChecklistItem, user) -> ChecklistItem:
    """Save an item edited elsewhere (admin form, list_editable, inline), stamping completion.

    Becoming done records ``user`` and now; leaving done clears both.
    """
    item.stamp_completion(by=_real_user(user))
    _with_history_user(item, user)
    item.full_clean()
    item.save()
    return item


def checklist_item_update(
    *,
    item: ChecklistItem,
    user,
    status: str | None = None,
    notes: str | None = None,
    evidence_url: str | None = None,
) -> ChecklistItem:
    """Change an item's status (and optionally notes / evidence link)."""
    if status is not None:
        if status not in ChecklistItem.Status.values:
            raise ValidationError({"status": f"Unknown status {status!r}."})
        item.status = status
    if notes is not None:
        item.notes = notes
    if evidence_url is not None:
        item.evidence_url = evidence_url
    return checklist_item_save(item=item, user=user)


@transaction.atomic
def checklist_items_status_set(*, items: QuerySet[ChecklistItem], status: str, user) -> int:
    """Bulk status change; each changed row is saved (and so gets its history entry)."""
    if status not in ChecklistItem.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    changed = 0
    # Lock the rows themselves (the caller's queryset may join nullable relations).
    locked = ChecklistItem.objects.filter(pk__in=items.values("pk")).select_for_update()
    for item in locked.order_by("pk"):
        if item.status == status:
            continue
        item.status = status
        checklist_item_save(item=item, user=user)
        changed += 1
    return changed


# --- Evidence --------------------------------------------------------------------------

EVIDENCE_FIELDS = (
    "evidence_state",
    "evidence_summary",
    "evidence_link",
    "evidence_checked_at",
    "evidence_verified_since",
)


@dataclass(frozen=True)
class EvidenceRefresh:
    """What ``checklist_evidence_refresh`` did: items checked, verified, and newly done."""

    checked: int
    verified: int
    completed: list[str]  # keys of the items a first verification marked done


def _evidence_url(name: str) -> str:
    try:
        return reverse(name) if name else ""
    except NoReverseMatch:  # the page's app is not installed
        return ""


# Who gathers the facts the evidence checks read: the app above the ones observed (overview)
# registers it at start-up, so the roadmap imports none of the apps it checks.
_evidence_facts_provider: Callable[[], EvidenceFacts] | None = None


def evidence_facts_provider_set(provider: Callable[[], EvidenceFacts]) -> None:
    global _evidence_facts_provider
    _evidence_facts_provider = provider


def checklist_evidence_refresh_now() -> EvidenceRefresh:
    """Gather the facts now (through the registered provider) and refresh every item."""
    if _evidence_facts_provider is None:
        raise RuntimeError("no evidence facts provider registered (is 'overview' installed?)")
    return checklist_evidence_refresh(facts=_evidence_facts_provider())


@transaction.atomic
def checklist_evidence_refresh(*, facts: EvidenceFacts) -> EvidenceRefresh:
    """Run the evidence check of every checklist item that names one, set-based: one read,
    one bulk write of the evidence fields (no history row for a re-check), whatever the
    number of items.

    An item whose evidence becomes verified (it was not at the previous check) and that is
    not closed is marked done — completed at the check, by nobody, with a history entry
    saying why. That happens on the transition only: a project manager who reopens a
    verified item is not overruled at the next check.
    """
    items = list(
        ChecklistItem.objects.exclude(evidence_check="")
        .select_for_update()
        .only("pk", "key", "status", "evidence_check", *EVIDENCE_FIELDS)
        .order_by("pk")
    )
    urls: dict[str, str] = {}
    newly_verified = []
    for item in items:
        evidence = evidence_for(item.evidence_check, facts)
        if evidence.link not in urls:
            urls[evidence.link] = _evidence_url(evidence.link)
        verified = evidence.state == VERIFIED
        if verified and item.evidence_state != VERIFIED:
            item.evidence_verified_since = facts.checked_at
            newly_verified.append(item)
        elif not verified:
            item.evidence_verified_since = None
        item.evidence_state = evidence.state
        item.evidence_summary = evidence.summary[:300]
        item.evidence_link = urls[evidence.link]
        item.evidence_checked_at = facts.checked_at
    ChecklistItem.objects.bulk_update(items, EVIDENCE_FIELDS)

    completed = []
    for item in newly_verified:
        if item.status in ChecklistItem.CLOSED:
            continue
        done = ChecklistItem.objects.get(pk=item.pk)
        done.status = ChecklistItem.Status.DONE
        done.stamp_completion(by=None, at=facts.checked_at)
        done._change_reason = f"Evidence verified by FinHub: {item.evidence_summary}"[:100]
        _with_history_user(done, None)
        done.save()
        completed.append(done.key)
    return EvidenceRefresh(
        checked=len(items),
        verified=sum(1 for item in items if item.evidence_state == VERIFIED),
        completed=completed,
    )


# --- Phase gates -----------------------------------------------------------------------

OVERRIDE_PERMISSION = "roadmap.override_phase_gate"


class PhaseGateError(ValidationError):
    """A phase that cannot be completed: its gate does not hold (the messages list the unmet
    criteria), or it is already complete."""

    def __init__(self, message, *, gate: Gate | None = None):
        super().__init__(message)
        self.gate = gate


def phase_gate_unmet_messages(gate: Gate) -> list[str]:
    return [str(criterion) for criterion in gate.unmet]


@transaction.atomic
def phase_complete(*, phase: Phase, user, override_reason: str = "") -> Phase:
    """Mark ``phase`` complete when its gate holds (``roadmap.selectors.phase_gate``).

    When it does not, ``PhaseGateError`` lists the unmet criteria and nothing changes, unless
    ``override_reason`` is given by a user holding ``roadmap.override_phase_gate``: then the
    phase is completed anyway and a ``PhaseGateOverride`` records who, when, why and the
    unmet criteria at that moment. A reason from a user without the permission is refused
    (``PermissionDenied``). A reason given while the gate holds is not an override.
    """
    phase = Phase.objects.select_for_update().get(pk=phase.pk)
    if phase.status == Phase.Status.COMPLETE:
        raise PhaseGateError(f"{phase} is already complete.")
    gate = selectors.phase_gate(phase=phase)
    reason = override_reason.strip()
    overridden = not gate.holds
    if overridden:
        if not reason:
            raise PhaseGateError(
                [
                    f"{phase} cannot be marked complete: its gate does not hold.",
                    *phase_gate_unmet_messages(gate),
                ],
                gate=gate,
            )
        if not (user is not None and user.has_perm(OVERRIDE_PERMISSION)):
            raise PermissionDenied(
                f"Completing {phase} although its gate does not hold needs the permission "
                f"{OVERRIDE_PERMISSION!r}."
            )
    now = timezone.now()
    phase.status = Phase.Status.COMPLETE
    phase.completed_at = now
    phase.completed_by = _real_user(user)
    _with_history_user(phase, user)
    why = f"Completed by override: {reason}" if overridden else "Completed: its gate held"
    phase._change_reason = why[:100]
    phase.save()
    if overridden:
        PhaseGateOverride.objects.create(
            phase=phase,
            user=_real_user(user),
            at=now,
            reason=reason,
            unmet=[criterion.as_dict() for criterion in gate.unmet],
        )
    return phase


@transaction.atomic
def phase_reopen(*, phase: Phase, user, reason: str = "") -> Phase:
    """Take a completed phase back to in progress (its completion is cleared; an override
    row stays as the record of what happened)."""
    phase = Phase.objects.select_for_update().get(pk=phase.pk)
    if phase.status != Phase.Status.COMPLETE:
        raise PhaseGateError(f"{phase} is not complete.")
    phase.status = Phase.Status.IN_PROGRESS
    phase.completed_at = None
    phase.completed_by = None
    _with_history_user(phase, user)
    phase._change_reason = (f"Reopened: {reason.strip()}" if reason.strip() else "Reopened")[:100]
    phase.save()
    return phase


# --- Success metrics -------------------------------------------------------------------


class MeasurementError(ValidationError):
    """A measurement that cannot be recorded: unknown metric key or unusable value."""


VALUE_MAX_DIGITS = Measurement._meta.get_field("value").max_digits
VALUE_DECIMAL_PLACES = Measurement._meta.get_field("value").decimal_places


def _measurement_value(value) -> Decimal:
    if isinstance(value, (bool, float)):
        # Floats carry binary rounding; callers pass Decimal, int or a numeric string.
        raise MeasurementError(
            {"value": "Value must be a Decimal, an integer or a numeric string."}
        )
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise MeasurementError({"value": f"Value {value!r} is not a number."}) from None
    if not number.is_finite():
        raise MeasurementError({"value": f"Value {value!r} is not a finite number."})
    quantised = number.quantize(Decimal(1).scaleb(-VALUE_DECIMAL_PLACES))
    if len(quantised.as_tuple().digits) > VALUE_MAX_DIGITS:
        raise MeasurementError({"value": f"Value {value!r} is too large."})
    return quantised


def measurement_period(*, source: str, period: str, measured_at: datetime.datetime) -> str:
    """The period a measurement is about: as given, else for an automatic one the day it was
    measured (a rolling figure such as 30-day reliability is one value per day)."""
    if period or source == Measurement.MANUAL:
        return period
    return timezone.localtime(measured_at).date().isoformat()


def measurement_record(
    *,
    metric_key: str,
    value: Decimal,
    measured_at: datetime.datetime | None = None,
    source: str = Measurement.MANUAL,
    recorded_by=None,
    note: str = "",
    period: str = "",
) -> Measurement:
    """Record a value for the success metric ``metric_key``.

    Other apps push automatic measurements with ``source="auto:<measurement key>"``; each
    is about a ``period`` (a month ``"2026-10"``, a range; default: the day it was measured).
    An automatic source records a value only when the value or its period changes: when
    the latest measurement of this metric from the same source for the same period already
    has this value, nothing is written and that measurement is returned (with
    ``recorded=False``), so a figure pushed after every sync leaves one row per change and
    per period, and the scorecard's trend shows changes, not repetitions. Manual values are
    always recorded (a project manager typing a value again confirms it).

    Raises ``MeasurementError`` (a ``ValidationError``) and writes nothing when the key is
    unknown, the value is not a finite number, the source is malformed or the time is in
    the future.
    """
    number = _measurement_value(value)
    if not re.fullmatch(SOURCE_RE, source or ""):
        raise MeasurementError(
            {"source": f"Source {source!r} must be 'manual' or 'auto:<measurement key>'."}
        )
    now = timezone.now()
    if measured_at is None:
        measured_at = now
    elif timezone.is_naive(measured_at):
        raise MeasurementError({"measured_at": "measured_at needs a time zone."})
    elif measured_at > now + datetime.timedelta(minutes=5):
        raise MeasurementError({"measured_at": "measured_at is in the future."})
    period = measurement_period(source=source, period=period, measured_at=measured_at)
    with transaction.atomic():
        # Locks the metric: two workers pushing the same value cannot both find none.
        metric = SuccessMetric.objects.select_for_update().filter(key=metric_key).first()
        if metric is None:
            raise MeasurementError({"metric_key": f"Unknown success metric key {metric_key!r}."})
        if source != Measurement.MANUAL:
            latest = (
                Measurement.objects.filter(metric=metric, source=source, period=period)
                .order_by("-measured_at", "-pk")
                .first()
            )
            if latest is not None and latest.value == number:
                # Measured again, same figure: no new row, but the scorecard must know the
                # metric is fresh (its staleness reads this).
                if latest.confirmed_at is None or measured_at > latest.confirmed_at:
                    Measurement.objects.filter(pk=latest.pk).update(confirmed_at=measured_at)
                    latest.confirmed_at = measured_at
                latest.recorded = False
                return latest
        measurement = Measurement(
            metric=metric,
            value=number,
            measured_at=measured_at,
            source=source,
            recorded_by=_real_user(recorded_by),
            note=note,
            period=period,
        )
        _with_history_user(measurement, recorded_by)
        measurement.full_clean()
        measurement.save()
    measurement.recorded = True
    return measurement


def metric_baseline_or_initial(*, metric_key: str, initial: Decimal) -> Decimal | None:
    """The baseline of the success metric ``metric_key``: the value a project manager entered
    (``SuccessMetric.baseline``, in the admin), else — on the first call — ``initial`` (the
    first measurement of what the metric improves on), stored so later calls compare with
    it. None when the metric does not exist (the programme is not loaded)."""
    with transaction.atomic():
        metric = SuccessMetric.objects.select_for_update().filter(key=metric_key).first()
        if metric is None:
            return None
        if metric.baseline is None:
            metric.baseline = _measurement_value(initial)
            metric.save(update_fields=["baseline"])
        return metric.baseline
