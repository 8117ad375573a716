"""The /operations/ page (thin: the selectors gather everything)."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from connectors.selectors import api_reliability_by_connector, api_reliability_overall
from operations.selectors import (
    DEFAULT_PERIOD,
    PERIODS,
    response_time_summary,
    response_time_target,
)


@require_GET
@permission_required("operations.view_operations", raise_exception=True)
def index(request):
    """Response times per endpoint for a period, the scorecard's response time against its
    target, and API reliability per source system."""
    period = request.GET.get("period", DEFAULT_PERIOD)
    if period not in PERIODS:
        choices = ", ".join(PERIODS)
        context = {"error": f"Unknown period {period!r}: choose one of {choices}."}
        return render(request, "operations/index.html", {**context, "periods": PERIODS}, status=400)
    hours, label = PERIODS[period]
    return render(
        request,
        "operations/index.html",
        {
            "periods": PERIODS,
            "period": period,
            "period_label": label,
            "endpoints": response_time_summary(hours=hours),
            "scorecard": response_time_target(),
            "reliability": api_reliability_by_connector(),
            "reliability_overall": api_reliability_overall(),
        },
    )
