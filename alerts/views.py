"""The Alerts page (/alerts/): what fires now, the history, one alert's timeline and chart,
and the actions on an alert (acknowledge, record a decision, silence, resolve by hand).

Every page needs login and ``alerts.view_alertinstance`` (403 otherwise); each action
needs its own permission too (:data:`ACTION_PERMISSIONS`) and is a CSRF-protected POST
that calls the service doing the work, then returns to the alert with a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from alerts import display, selectors
from alerts.acknowledgements import alert_acknowledge, alert_decide, silence_create
from alerts.evaluation import instance_resolve
from alerts.forms import (
    AcknowledgeForm,
    DecisionForm,
    HistoryFilterForm,
    ResolveForm,
    SilenceForm,
)
from alerts.models import AlertInstance, State

VIEW_PERMISSION = "alerts.view_alertinstance"
ACKNOWLEDGE_PERMISSION = "alerts.add_acknowledgement"
DECIDE_PERMISSION = "alerts.change_acknowledgement"
SILENCE_PERMISSION = "alerts.add_silence"
RESOLVE_PERMISSION = "alerts.change_alertinstance"
# States an instance can be resolved by hand from.
RESOLVABLE = (State.FIRING, State.PENDING, State.NO_DATA, State.ERROR)


def _errors_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@require_GET
@permission_required(VIEW_PERMISSION, raise_exception=True)
def alert_list(request: HttpRequest) -> HttpResponse:
    """Firing and pending alerts now, and the history of state changes with filters."""
    form = HistoryFilterForm(request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        history = None
        status = 400
    else:
        filters = form.filters() if form.is_bound else selectors.HistoryFilters()
        history = selectors.transition_history(filters=filters, page=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    active = selectors.alert_active_list()
    rows = [
        {
            "instance": instance,
            "rule": instance.rule,
            "value": display.value_text(instance.value, instance.rule.metric),
            "condition": display.condition_text(instance.rule),
            "acknowledgement": selectors.current_acknowledgement(instance),
        }
        for instance in active
    ]
    history_rows = [
        {
            "transition": transition,
            "value": display.value_text(transition.value, transition.instance.rule.metric),
        }
        for transition in (history.object_list if history else [])
    ]
    return render(
        request,
        "alerts/list.html",
        {
            "active": rows,
            "firing_total": sum(1 for i in active if i.state == State.FIRING),
            "pending_total": sum(1 for i in active if i.state == State.PENDING),
            "form": form,
            "history": history,
            "history_rows": history_rows,
            "query_prefix": f"{query.urlencode()}&" if query else "",
            "filtered": bool(query),
        },
        status=status,
    )


def _instance_or_404(instance_id: int) -> AlertInstance:
    instance = selectors.alert_instance_get(instance_id=instance_id)
    if instance is None:
        raise Http404("No such alert.")
    return instance


def _detail(
    request: HttpRequest, instance: AlertInstance, *, status: int = 200, **bound
) -> HttpResponse:
    user = request.user
    timeline = selectors.alert_timeline(instance)
    points = display.samples(instance)
    metric = instance.rule.metric
    acknowledgement = timeline.acknowledgement
    can = {
        "acknowledge": user.has_perm(ACKNOWLEDGE_PERMISSION) and instance.state == State.FIRING,
        "decide": user.has_perm(DECIDE_PERMISSION) and acknowledgement is not None,
        "silence": user.has_perm(SILENCE_PERMISSION),
        "resolve": user.has_perm(RESOLVE_PERMISSION) and instance.state in RESOLVABLE,
    }
    decision_initial = {"acknowledgement": acknowledgement.pk} if acknowledgement else None
    context = {
        "instance": instance,
        "rule": instance.rule,
        "value": display.value_text(instance.value, metric),
        "condition": display.condition_text(instance.rule),
        "threshold": display.value_text(instance.rule.threshold, metric),
        "recovery": display.value_text(instance.rule.recovery_threshold, metric)
        if instance.rule.recovery_threshold is not None
        else None,
        "timeline": timeline,
        "events": [
            {"event": e, "value": display.value_text(e.value, metric)} for e in timeline.events
        ],
        "acknowledgement": acknowledgement,
        "figure": display.figure_link(
            instance, filter_value=selectors.dashboard_filter_value(instance)
        ),
        "points": [
            {"at": p.at, "value": display.value_text(p.value, metric), "missing": p.value is None}
            for p in points
        ],
        "chart": display.chart_data(instance, points) if points else None,
        "can": can,
        "labels": sorted((instance.labels or {}).items()),
        "ack_form": bound.get("ack_form") or AcknowledgeForm(user=user),
        "decision_form": bound.get("decision_form") or DecisionForm(initial=decision_initial),
        "silence_form": bound.get("silence_form") or SilenceForm(labels=instance.labels),
        "resolve_form": bound.get("resolve_form") or ResolveForm(),
        "decided": [
            {"ack": a, "hours": selectors.hours_to_decision(a)}
            for a in timeline.acknowledgements
            if a.decided_at
        ],
        "now": timezone.now(),
    }
    return render(request, "alerts/detail.html", context, status=status)


@require_GET
@permission_required(VIEW_PERMISSION, raise_exception=True)
def alert_detail(request: HttpRequest, instance_id: int) -> HttpResponse:
    """One alert: its state, chart around it with the threshold, timeline and actions."""
    return _detail(request, _instance_or_404(instance_id))


def _back(instance: AlertInstance) -> HttpResponse:
    return redirect("alerts:detail", instance_id=instance.pk)


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
@permission_required(ACKNOWLEDGE_PERMISSION, raise_exception=True)
def alert_acknowledge_view(request: HttpRequest, instance_id: int) -> HttpResponse:
    """Own a firing alert until a time, with a note."""
    instance = _instance_or_404(instance_id)
    form = AcknowledgeForm(request.POST, user=request.user)
    if not form.is_valid():
        return _detail(request, instance, status=400, ack_form=form)
    try:
        alert_acknowledge(
            instance,
            owner=form.cleaned_data["owner"],
            note=form.cleaned_data["note"],
            expires_at=form.cleaned_data["expires_at"],
            by=request.user,
        )
    except ValidationError as exc:
        messages.error(request, f"Not acknowledged: {_errors_text(exc)}")
        return _back(instance)
    messages.success(request, f"Acknowledged “{instance}”.")
    return _back(instance)


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
@permission_required(DECIDE_PERMISSION, raise_exception=True)
def alert_decide_view(request: HttpRequest, instance_id: int) -> HttpResponse:
    """Record the decision taken on an acknowledged alert."""
    instance = _instance_or_404(instance_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _detail(request, instance, status=400, decision_form=form)
    acknowledgement = instance.acknowledgements.filter(
        pk=form.cleaned_data["acknowledgement"]
    ).first()
    if acknowledgement is None:
        raise Http404("No such acknowledgement of this alert.")
    try:
        alert_decide(acknowledgement, decision=form.cleaned_data["decision"], by=request.user)
    except ValidationError as exc:
        messages.error(request, f"Decision not recorded: {_errors_text(exc)}")
        return _back(instance)
    messages.success(request, "Decision recorded.")
    return _back(instance)


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
@permission_required(SILENCE_PERMISSION, raise_exception=True)
def alert_silence_view(request: HttpRequest, instance_id: int) -> HttpResponse:
    """Silence the notifications of the alerts matching the matchers until a time."""
    instance = _instance_or_404(instance_id)
    form = SilenceForm(request.POST, labels=instance.labels)
    if not form.is_valid():
        return _detail(request, instance, status=400, silence_form=form)
    try:
        silence = silence_create(
            matchers=form.cleaned_data["matchers"],
            starts_at=timezone.now(),
            ends_at=form.cleaned_data["ends_at"],
            comment=form.cleaned_data["comment"],
            by=request.user,
        )
    except ValidationError as exc:
        # The service names the field (matchers, ends_at, comment): show it there.
        fields = set(getattr(exc, "error_dict", {}))
        form.add_error(None, exc if fields and fields <= set(form.fields) else exc.messages)
        return _detail(request, instance, status=400, silence_form=form)
    until = timezone.localtime(silence.ends_at)
    messages.success(request, f"Silenced until {until:%Y-%m-%d %H:%M}.")
    return _back(instance)


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
@permission_required(RESOLVE_PERMISSION, raise_exception=True)
def alert_resolve_view(request: HttpRequest, instance_id: int) -> HttpResponse:
    """Resolve an alert by hand, with a note (the next evaluation may fire it again)."""
    instance = _instance_or_404(instance_id)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _detail(request, instance, status=400, resolve_form=form)
    if instance.state not in RESOLVABLE:
        messages.info(
            request, f"“{instance}” is {instance.get_state_display().lower()}: nothing to resolve."
        )
        return _back(instance)
    try:
        instance_resolve(instance, user=request.user, note=form.cleaned_data["note"])
    except ValidationError as exc:
        messages.error(request, f"Not resolved: {_errors_text(exc)}")
        return _back(instance)
    messages.success(request, f"Resolved “{instance}” by hand.")
    return _back(instance)
