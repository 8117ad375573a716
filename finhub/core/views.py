from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from finhub.core import theme
from finhub.core.selectors import readiness_report


@require_GET
def metrics_docs(request: HttpRequest) -> HttpResponse:
    """docs/metrics.md — every formula FinHub implements — for anyone logged in."""
    from finhub.core.docs import doc_render

    return render(request, "core/doc.html", {"doc": doc_render()})


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachable: 200, otherwise 503. Names no host and no error."""
    ready, report = readiness_report()
    return JsonResponse(report, status=200 if ready else 503)


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, asked for by browsers on every page (the login page too): the SVG icon."""
    return HttpResponsePermanentRedirect(static(theme.FAVICON))
