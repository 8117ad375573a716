"""The reports pages (/reports/): the reports and packs, one report with its parameters and
downloads, a pack generated for a period, the archive and its downloads, signed download
links from emails, and the delivery schedules (edited in the admin).

Every page needs login (site middleware) and a permission (403 otherwise): the reports and
packs ``core.view_dashboards`` (they show the dashboards' figures); generating a file
``reports.add_archivedreport`` (every file is archived); the archive
``reports.view_archivedreport``; the schedules ``reports.view_packschedule``. A bad
parameter answers 400 with a page naming it; a failed request changes nothing.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboards.filters import Filters
from dashboards.page import bad_request
from dashboards.period import PeriodError, period_from_params
from finhub.core.calendar import KINDS, MONTH, QUARTER, Period, last_closed_month, month_period
from reports import selectors, services
from reports.building import ReportParamError, report_build, report_params_from_query
from reports.definitions import REPORTS
from reports.delivery import LinkError, link_read
from reports.forms import ArchiveFilterForm, PickerState, report_picker
from reports.models import ArchivedReport
from reports.rendering import CONTENT_TYPES, FORMATS

VIEW_PERMISSION = "core.view_dashboards"
GENERATE_PERMISSION = "reports.add_archivedreport"
ARCHIVE_PERMISSION = "reports.view_archivedreport"
SCHEDULES_PERMISSION = "reports.view_packschedule"


def _definition_or_404(key: str):
    definition = REPORTS.get(key)
    if definition is None:
        raise Http404("No such report.")
    return definition


def _report_url(key: str, period: Period, values: dict) -> str:
    return f"{reverse('reports:report', args=[key])}?{urlencode({**period.query(), **values})}"


def _neighbour_urls(path: str, period: Period, values: dict | None = None) -> dict[str, str]:
    """The picker's previous / next links for a month or a quarter."""
    if period.kind not in (MONTH, QUARTER):
        return {}
    return {
        name: f"{path}?{urlencode({**other.query(), **(values or {})})}"
        for name, other in (
            ("prior_url", period.prior()),
            ("next_url", period.shifted(period.month_span)),
        )
    }


@require_GET
@permission_required(VIEW_PERMISSION, raise_exception=True)
def report_index(request: HttpRequest) -> HttpResponse:
    """The reports, the packs and (for those who may read it) the latest archived files."""
    can_archive = request.user.has_perm(ARCHIVE_PERMISSION)
    return render(
        request,
        "reports/index.html",
        {
            "reports": list(REPORTS.values()),
            "packs": list(selectors.pack_list()),
            "latest": selectors.archive_latest() if can_archive else None,
            "can_archive": can_archive,
            "can_schedules": request.user.has_perm(SCHEDULES_PERMISSION),
        },
    )


@require_GET
@permission_required(VIEW_PERMISSION, raise_exception=True)
def report_detail(request: HttpRequest, key: str) -> HttpResponse:
    """One report for the chosen period and parameters, its tables and the downloads."""
    definition = _definition_or_404(key)
    try:
        params = report_params_from_query(key=key, query=request.GET, today=timezone.localdate())
        built = report_build(key=key, params=params, user=request.user)
    except ReportParamError as exc:
        return bad_request(request, definition.title, [str(exc)], request.path)
    for table in built.tables:
        table.exportable = False  # the page's downloads replace the per-table exports
    picker = report_picker(key=key, params=params)
    return render(
        request,
        "reports/report.html",
        {
            "definition": definition,
            "report": built,
            "params": params,
            "download_fields": sorted({**params.period.query(), **params.values}.items()),
            "formats": FORMATS,
            "period_kinds": KINDS.items(),
            "can_generate": request.user.has_perm(GENERATE_PERMISSION),
            **picker,
            **_neighbour_urls(request.path, params.period, params.values),
        },
    )


def _download(archived: ArchivedReport) -> FileResponse:
    return FileResponse(
        archived.file.open("rb"),
        as_attachment=True,
        filename=archived.filename,
        content_type=CONTENT_TYPES.get(archived.format, "application/octet-stream"),
    )


@require_POST
@permission_required(VIEW_PERMISSION, raise_exception=True)
@permission_required(GENERATE_PERMISSION, raise_exception=True)
def report_download(request: HttpRequest, key: str) -> HttpResponse:
    """Generate the report as CSV, XLSX or PDF, archive the file and send it."""
    definition = _definition_or_404(key)
    retry = reverse("reports:report", args=[key])
    fmt = request.POST.get("format", "")
    if fmt not in FORMATS:
        return bad_request(
            request,
            definition.title,
            [f"format: {fmt!r} is not one of {', '.join(FORMATS)}."],
            retry,
        )
    try:
        params = report_params_from_query(key=key, query=request.POST, today=timezone.localdate())
        archived = services.report_generate(key=key, params=params, fmt=fmt, user=request.user)
    except ReportParamError as exc:
        return bad_request(request, definition.title, [str(exc)], retry)
    return _download(archived)


def _pack_period(data, today) -> Period:
    if str(data.get("period", "") or "").strip():
        return period_from_params(data, default=MONTH, today=today)
    return month_period(last_closed_month(today))


@require_http_methods(["GET", "POST"])
@permission_required(VIEW_PERMISSION, raise_exception=True)
def pack_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A pack's reports; POST generates its PDF and XLSX for a period (archived)."""
    pack = selectors.pack_get(slug=slug)
    if pack is None:
        raise Http404("No such pack.")
    if request.method == "POST" and not request.user.has_perm(GENERATE_PERMISSION):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else request.GET
    try:
        period = _pack_period(data, timezone.localdate())
    except PeriodError as exc:
        return bad_request(request, pack.name, [str(exc)], request.path)
    if request.method == "POST":
        try:
            files = services.pack_generate(pack=pack, period=period, user=request.user)
        except ReportParamError as exc:
            return bad_request(request, pack.name, [str(exc)], request.path)
        except ValidationError as exc:
            return bad_request(request, pack.name, exc.messages, request.path)
        names = " and ".join(f.format.upper() for f in files)
        messages.success(
            request, f"{pack.name} for {period.label}: {names} generated and archived."
        )
        return redirect(f"{request.path}?{urlencode(period.query())}")
    can_archive = request.user.has_perm(ARCHIVE_PERMISSION)
    archived = None
    if can_archive:
        archived = selectors.archive_page(
            files=selectors.archive_list(pack=pack), page=request.GET.get("page")
        )
    return render(
        request,
        "reports/pack.html",
        {
            "pack": pack,
            "items": [
                (
                    item,
                    REPORTS.get(item.report),
                    _report_url(item.report, period, item.params or {}),
                )
                for item in pack.items.all()
            ],
            **_neighbour_urls(request.path, period),
            "period": period,
            "dash": PickerState(period, Filters([])),
            "period_kinds": KINDS.items(),
            "period_fields": sorted(period.query().items()),
            "archived": archived,
            "query_prefix": f"{urlencode(period.query())}&",
            "can_archive": can_archive,
            "can_generate": request.user.has_perm(GENERATE_PERMISSION),
        },
    )


@require_GET
@permission_required(ARCHIVE_PERMISSION, raise_exception=True)
def archive_list(request: HttpRequest) -> HttpResponse:
    """Every archived file, newest first, with filters; paginated."""
    form = ArchiveFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        errors = [f"{name}: {' '.join(e)}" for name, e in form.errors.items()]
        return bad_request(request, "Report archive", errors, request.path)
    filters = form.cleaned_data if form.is_bound else {}
    files = selectors.archive_list(
        pack=filters.get("pack"),
        report=filters.get("report", ""),
        trigger=filters.get("trigger", ""),
    )
    page = selectors.archive_page(files=files, page=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reports/archive.html",
        {
            "form": form,
            "page": page,
            "titles": dict((d.key, d.title) for d in REPORTS.values()),
            "query_prefix": f"{query.urlencode()}&" if query else "",
            "filtered": bool(query),
        },
    )


@require_GET
@permission_required(ARCHIVE_PERMISSION, raise_exception=True)
def archive_download(request: HttpRequest, archived_id: int) -> HttpResponse:
    """One archived file, streamed from the reports storage."""
    archived = selectors.archived_get(archived_id=archived_id)
    if archived is None:
        raise Http404("No such archived file (it may have passed the retention).")
    return _download(archived)


@require_GET
def signed_download(request: HttpRequest, token: str) -> HttpResponse:
    """A download link from a delivery email: valid for the hours it was signed for, to a
    recipient of that delivery or to someone who may read the archive."""
    try:
        delivery_id, archived_id = link_read(token)
    except LinkError as exc:
        return render(
            request,
            "reports/link_refused.html",
            {"reason": str(exc), "can_archive": request.user.has_perm(ARCHIVE_PERMISSION)},
            status=410 if exc.expired else 403,
        )
    delivery = selectors.delivery_get(delivery_id=delivery_id)
    archived = selectors.archived_get(archived_id=archived_id)
    if delivery is None or archived is None or not delivery.files.filter(pk=archived.pk).exists():
        raise Http404("This file is no longer in the archive.")
    allowed = request.user.has_perm(ARCHIVE_PERMISSION) or selectors.delivery_is_recipient(
        delivery=delivery, user=request.user
    )
    if not allowed:
        raise PermissionDenied
    return _download(archived)


@require_GET
@permission_required(SCHEDULES_PERMISSION, raise_exception=True)
def schedule_list(request: HttpRequest) -> HttpResponse:
    """The delivery schedules (read-only; edited in the admin)."""
    return render(
        request,
        "reports/schedules.html",
        {"schedules": list(selectors.schedule_list())},
    )
