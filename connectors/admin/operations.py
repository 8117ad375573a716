"""The operations an integration admin runs on a connector, from one table (``OPERATIONS``).

Each operation is a changelist action (for every selected connector; those that change data
or state ask for confirmation first) and a button on the change page, which asks on GET and
runs on POST (state never changes on a GET). ``OperationsMixin`` gets one method of each kind
per operation, named ``<name>`` and ``<name>_detail``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django_guid import get_guid
from unfold.decorators import action

from connectors.models import Connector, SyncRun
from connectors.sync.probe import connection_test
from connectors.sync.runs import connector_pause, connector_resume, sync_request, sync_state_reset
from records.ingestion.services import Actor, rejected_reprocess
from records.models import RejectedRecord

from .forms import BackfillForm

# (the connector admin, the request, the connector, the bound and valid form or None)
Run = Callable[..., None]


@dataclass(frozen=True)
class Operation:
    name: str
    label: str
    text: str  # what it does, on its confirmation page
    run: Run
    confirm_in_list: bool = False  # changes data or state: the changelist asks first too
    form: type[forms.Form] | None = None
    list_label: str = ""  # the changelist's label, when it differs

    @property
    def url_path(self) -> str:
        return self.name.replace("_", "-")


def _queue(model_admin, request, connector, *, mode, backfill_from=None) -> None:
    run = sync_request(
        connector,
        trigger=SyncRun.Trigger.MANUAL,
        mode=mode,
        backfill_from=backfill_from,
        user=request.user,
    )
    label = SyncRun.Mode(mode).label.lower()
    since = f" from {backfill_from:%d %b %Y}" if backfill_from else ""
    model_admin.message_user(
        request, f"{connector}: {label} sync{since} queued (run #{run.pk}).", messages.SUCCESS
    )


def _test_connection(model_admin, request, connector, form) -> None:
    result = connection_test(connector)
    status = f"HTTP {result.status_code}, " if result.status_code else ""
    latency = f"{result.latency_ms:,.0f} ms" if result.latency_ms is not None else "no answer"
    if result.ok:
        text = f"{connector}: connection OK ({status}{latency}). {result.message}".strip()
        model_admin.message_user(request, text, messages.SUCCESS)
    else:
        text = f"{connector}: connection failed ({status}{latency}): {result.message}"
        model_admin.message_user(request, text, messages.ERROR)


def _sync_now(model_admin, request, connector, form) -> None:
    _queue(model_admin, request, connector, mode=SyncRun.Mode.INCREMENTAL)


def _full_refresh(model_admin, request, connector, form) -> None:
    _queue(model_admin, request, connector, mode=SyncRun.Mode.FULL_REFRESH)


def _backfill(model_admin, request, connector, form) -> None:
    backfill_from = form.cleaned_data["backfill_from"]
    _queue(model_admin, request, connector, mode=SyncRun.Mode.BACKFILL, backfill_from=backfill_from)


def _reset_state(model_admin, request, connector, form) -> None:
    sync_state_reset(connector)
    model_admin.message_user(
        request,
        f"{connector}: sync state reset; the next sync reads everything again.",
        messages.SUCCESS,
    )


def _reprocess_rejected(model_admin, request, connector, form) -> None:
    ids = list(
        RejectedRecord.objects.filter(
            source=connector, status=RejectedRecord.Status.OPEN
        ).values_list("pk", flat=True)
    )
    if not ids:
        model_admin.message_user(request, f"{connector}: no open rejected records.", messages.INFO)
        return
    actor = Actor(user=request.user, request_id=get_guid() or "", via="admin")
    result = rejected_reprocess(rejected_ids=ids, actor=actor)
    model_admin.message_user(
        request,
        f"{connector}: {result.reprocessed:,} reprocessed, {result.still_rejected:,} still "
        f"rejected, {result.skipped:,} skipped (superseded or already resolved).",
        messages.SUCCESS if not result.still_rejected else messages.WARNING,
    )


def _pause(model_admin, request, connector, form) -> None:
    reason = f"paused by {request.user.get_username()} in the admin"
    if connector_pause(connector, reason):
        model_admin.message_user(request, f"{connector} paused.", messages.SUCCESS)
    else:
        model_admin.message_user(request, f"{connector} was already paused.", messages.INFO)


def _resume(model_admin, request, connector, form) -> None:
    if connector_resume(connector):
        model_admin.message_user(request, f"{connector} resumed.", messages.SUCCESS)
    else:
        model_admin.message_user(request, f"{connector} was not paused.", messages.INFO)


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "test_connection",
        "Test connection",
        "Calls the source with the stored credentials and reports the latency.",
        _test_connection,
    ),
    Operation(
        "sync_now",
        "Sync now",
        "Queues an incremental sync: what changed since the last one.",
        _sync_now,
    ),
    Operation(
        "full_refresh",
        "Full refresh",
        "Queues a sync that reads everything again; records the source no longer has are "
        "soft-deleted.",
        _full_refresh,
        confirm_in_list=True,
    ),
    Operation(
        "backfill",
        "Backfill from date",
        "Queues a sync that reads again everything changed since the date.",
        _backfill,
        confirm_in_list=True,
        form=BackfillForm,
        list_label="Backfill from date…",
    ),
    Operation(
        "reset_state",
        "Reset sync state",
        "Forgets where each entity's incremental sync stands: the next sync reads everything "
        "again (no record is deleted).",
        _reset_state,
        confirm_in_list=True,
    ),
    Operation(
        "reprocess_rejected",
        "Reprocess rejected records",
        "Runs this connector's open rejected records through validation again.",
        _reprocess_rejected,
    ),
    Operation("pause", "Pause", "Stops scheduled syncs until the connector is resumed.", _pause),
    Operation(
        "resume",
        "Resume",
        "Clears the pause and the failure count; schedules run again.",
        _resume,
    ),
)
LIST_ACTIONS = [op.name for op in OPERATIONS]
DETAIL_ACTIONS = [f"{op.name}_detail" for op in OPERATIONS]


class OperationsMixin:
    """The connector admin's side of the operations (see the module doc)."""

    def _run_changelist(
        self, request: HttpRequest, queryset: QuerySet, op: Operation
    ) -> HttpResponse | None:
        form = None
        if op.confirm_in_list:
            confirmed = request.POST.get("confirm") == "yes"
            form = op.form(request.POST if confirmed else None) if op.form else None
            if not confirmed or (form is not None and not form.is_valid()):
                return self._confirm_page(request, op, queryset=queryset, form=form)
        for connector in queryset:
            op.run(self, request, connector, form)
        return None

    def _run_detail(self, request: HttpRequest, object_id: str, op: Operation) -> HttpResponse:
        connector = self.get_object(request, object_id)
        if connector is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        form = None
        if request.method == "POST":
            form = op.form(request.POST) if op.form else None
            if form is None or form.is_valid():
                op.run(self, request, connector, form)
                return HttpResponseRedirect(
                    reverse("admin:connectors_connector_change", args=[connector.pk])
                )
        form = form or (op.form() if op.form else None)
        return self._confirm_page(request, op, connector=connector, form=form)

    def _confirm_page(self, request, op, *, queryset=None, connector=None, form=None):
        targets = [connector] if connector is not None else list(queryset)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{op.label}: {', '.join(str(c) for c in targets)}",
            "text": op.text,
            "button": op.label,
            "form": form,
            "action": op.name if queryset is not None else "",
            "selected": [c.pk for c in targets] if queryset is not None else [],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "back_url": (
                reverse("admin:connectors_connector_change", args=[connector.pk])
                if connector is not None
                else reverse("admin:connectors_connector_changelist")
            ),
        }
        return TemplateResponse(request, "admin/connectors/operation_confirm.html", context)


def _add_actions(op: Operation) -> None:
    """Give OperationsMixin the changelist action ``<name>`` and the change-page action
    ``<name>_detail`` of ``op`` (unfold finds actions by method name)."""

    def on_changelist(self, request: HttpRequest, queryset: QuerySet[Connector]):
        return self._run_changelist(request, queryset, op)

    def on_detail(self, request: HttpRequest, object_id: str):
        return self._run_detail(request, object_id, op)

    on_changelist.__name__ = on_changelist.__qualname__ = op.name
    on_detail.__name__ = on_detail.__qualname__ = f"{op.name}_detail"
    setattr(
        OperationsMixin,
        op.name,
        action(description=op.list_label or op.label, permissions=["change"])(on_changelist),
    )
    setattr(
        OperationsMixin,
        f"{op.name}_detail",
        action(description=op.label, permissions=["change"], url_path=op.url_path)(on_detail),
    )


for _op in OPERATIONS:
    _add_actions(_op)
