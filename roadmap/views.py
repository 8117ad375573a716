from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from roadmap.selectors import governance_dashboard


@require_GET
@permission_required("core.view_dashboards", raise_exception=True)
def dashboard(request):
    """The governance dashboard: timeline, progress, exit gates, attention list, risks,
    scorecard."""
    data = governance_dashboard(with_gates=True)
    return render(
        request,
        "roadmap/dashboard.html",
        {
            "d": data,
            "can_change": request.user.has_perm("roadmap.change_checklistitem"),
            "can_change_phase": request.user.has_perm("roadmap.change_phase"),
            "progress_chart": {
                "labels": [f"Phase {p.number}" for p in data.phases],
                "percent": [p.percent or 0 for p in data.phases],
            },
            "trend_chart": {
                m.key: {"name": m.name, "target": str(m.target), "points": m.trend}
                for m in data.metrics
                if m.trend
            },
        },
    )
