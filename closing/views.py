"""The close pages (/close/): the closes with their progress and a form to open one, and one
close's timeline — tasks as a dependency chain with planned vs actual, what is late, the
hours from period end to pack delivered, the post-close adjustments, the lock and its history.

Every page needs login and ``closing.view_close`` (403 otherwise); each action is a
CSRF-protected POST with its own permission (:data:`OPEN_PERMISSION`…) that calls the
service doing the work, then returns to the page with a message. Bad input re-renders the
page with the form's errors and status 400, and changes nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from closing import selectors, services
from closing.forms import OpenCloseForm, UnlockForm
from closing.models import Close, CloseTask, Kind
from records.locks import period_is_locked, period_lock_event_list, post_close_adjustment_list

VIEW_PERMISSION = "closing.view_close"
OPEN_PERMISSION = "closing.add_close"
TICK_PERMISSION = "closing.change_closetask"
UNLOCK_PERMISSION = "records.unlock_period"
ADJUSTMENTS_SHOWN = 200


def _errors_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def _list(request: HttpRequest, *, form: OpenCloseForm | None = None, status: int = 200):
    default = selectors.close_template_default()
    return render(
        request,
        "closing/list.html",
        {
            "rows": selectors.close_list(),
            "form": form or OpenCloseForm(initial={"template": default.pk if default else None}),
            "can_open": request.user.has_perm(OPEN_PERMISSION),
        },
        status=status,
    )


@require_GET
@permission_required(VIEW_PERMISSION, raise_exception=True)
def close_list_view(request: HttpRequest) -> HttpResponse:
    """Every close with its status, progress and hours from period end to pack."""
    return _list(request)


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
@permission_required(OPEN_PERMISSION, raise_exception=True)
def close_open_view(request: HttpRequest) -> HttpResponse:
    """Open the close of a month from a template."""
    form = OpenCloseForm(request.POST)
    if not form.is_valid():
        return _list(request, form=form, status=400)
    try:
        close = services.close_create(
            month=form.cleaned_data["month"],
            template=form.cleaned_data["template"],
            user=request.user,
        )
    except ValidationError as exc:
        # The service names the field (month, template): show the error there.
        fields = set(getattr(exc, "error_dict", {}))
        form.add_error(None, exc if fields and fields <= set(form.fields) else exc.messages)
        return _list(request, form=form, status=400)
    messages.success(request, f"{close} opened from “{close.template}”.")
    return redirect("closing:detail", close_id=close.pk)


def _close_or_404(close_id: int) -> Close:
    close = selectors.close_get(close_id=close_id)
    if close is None:
        raise Http404("No such close.")
    return close


def _detail(
    request: HttpRequest, close: Close, *, unlock_form: UnlockForm | None = None, status=200
) -> HttpResponse:
    user = request.user
    adjustments = post_close_adjustment_list(month=close.month)
    shown = list(adjustments[: ADJUSTMENTS_SHOWN + 1])
    context = {
        "close": close,
        "timeline": selectors.close_timeline(close=close),
        "adjustments": shown[:ADJUSTMENTS_SHOWN],
        "adjustments_more": len(shown) > ADJUSTMENTS_SHOWN,
        "locked": period_is_locked(month=close.month),
        "lock_events": list(period_lock_event_list(month=close.month)),
        "can": {
            "tick": user.has_perm(TICK_PERMISSION),
            "unlock": user.has_perm(UNLOCK_PERMISSION),
        },
        "unlock_form": unlock_form or UnlockForm(),
    }
    return render(request, "closing/detail.html", context, status=status)


@require_GET
@permission_required(VIEW_PERMISSION, raise_exception=True)
def close_detail_view(request: HttpRequest, close_id: int) -> HttpResponse:
    """One close's timeline."""
    return _detail(request, _close_or_404(close_id))


def _task_or_404(close: Close, task_id: int) -> CloseTask:
    task = CloseTask.objects.select_related("close").filter(pk=task_id, close=close).first()
    if task is None:
        raise Http404("No such task in this close.")
    return task


def _back(close: Close) -> HttpResponse:
    return redirect("closing:detail", close_id=close.pk)


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
@permission_required(TICK_PERMISSION, raise_exception=True)
def close_task_tick_view(request: HttpRequest, close_id: int, task_id: int) -> HttpResponse:
    """Tick a ready manual task as done (by you, now)."""
    close = _close_or_404(close_id)
    task = _task_or_404(close, task_id)
    try:
        services.close_task_complete(task=task, user=request.user)
    except ValidationError as exc:
        messages.error(request, f"Not ticked: {_errors_text(exc)}")
        return _back(close)
    messages.success(request, f"“{task.name}” done.")
    return _back(close)


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
@permission_required(TICK_PERMISSION, raise_exception=True)
def close_task_retry_view(request: HttpRequest, close_id: int, task_id: int) -> HttpResponse:
    """Queue a failed automated task again."""
    close = _close_or_404(close_id)
    task = _task_or_404(close, task_id)
    if task.kind != Kind.AUTOMATED:
        messages.error(request, f"“{task.name}” is manual: tick it when it is done.")
        return _back(close)
    try:
        services.close_task_retry(task=task, user=request.user)
    except ValidationError as exc:
        messages.error(request, f"Not retried: {_errors_text(exc)}")
        return _back(close)
    messages.success(request, f"“{task.name}” queued again.")
    return _back(close)


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
def close_unlock_view(request: HttpRequest, close_id: int) -> HttpResponse:
    """Unlock the closed month, with a reason (audited)."""
    if not request.user.has_perm(UNLOCK_PERMISSION):
        raise PermissionDenied("Unlocking a closed period needs the permission to unlock one.")
    close = _close_or_404(close_id)
    form = UnlockForm(request.POST)
    if not form.is_valid():
        return _detail(request, close, unlock_form=form, status=400)
    try:
        services.close_period_unlock(
            close=close, user=request.user, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        form.add_error(None, exc.messages)
        return _detail(request, close, unlock_form=form, status=400)
    messages.success(request, f"{close.month:%B %Y} unlocked.")
    return _back(close)


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
@permission_required(TICK_PERMISSION, raise_exception=True)
def close_relock_view(request: HttpRequest, close_id: int) -> HttpResponse:
    """Lock the month again after an unlock (whoever runs the close; audited)."""
    close = _close_or_404(close_id)
    try:
        services.close_period_relock(close=close, user=request.user)
    except ValidationError as exc:
        messages.error(request, f"Not locked: {_errors_text(exc)}")
        return _back(close)
    messages.success(request, f"{close.month:%B %Y} locked again.")
    return _back(close)
