from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from finhub.core.selectors import readiness_report


def home(request):
    return render(request, "core/home.html")


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """The process is up and answering. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def readyz(request):
    """Database and broker reachable: 200, otherwise 503. Names no host and no error."""
    ready, report = readiness_report()
    return JsonResponse(report, status=200 if ready else 503)
