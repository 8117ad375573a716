"""Server-rendered connector pages: the health page."""

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from connectors.selectors import (
    HEALTH_WINDOWS,
    RECENT_RUNS,
    RELIABILITY_DAYS,
    connector_health_list,
)


@require_GET
@permission_required("connectors.view_syncrun", raise_exception=True)
def health(request):
    """Per connector: freshness, recent runs, success rate and uptime, API reliability, rows,
    reconciliation."""
    user = request.user
    return render(
        request,
        "connectors/health.html",
        {
            "connectors": connector_health_list(),
            "windows": HEALTH_WINDOWS,
            "recent_runs": RECENT_RUNS,
            "reliability_days": RELIABILITY_DAYS,
            # The admin pages behind the links: only for those who may open them.
            "can_open_runs": user.is_staff and user.has_perm("connectors.view_syncrun"),
            "can_open_connectors": user.is_staff and user.has_perm("connectors.view_connector"),
        },
    )
