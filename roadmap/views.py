from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from roadmap.selectors import governance_dashboard


@require_GET
@permission_required("core.view_dashboards", raise_exception=True)
def dashboard(request):
    """The governance dashboard: timeline, progress, attention list, risks, scorecard."""
    data = governance_dashboard()
    return render(
        request,
        "roadmap/dashboard.html",
        {
            "d": data,
            "can_change": request.user.has_perm("roadmap.change_checklistitem"),
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
