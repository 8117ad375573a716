from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# (label, url name, permission needed or None). Entries whose page does not exist yet
# are left out, so the menu only ever links to real pages.
NAVIGATION = [
    ("Home", "home", None),
    ("Governance", "roadmap:dashboard", "core.view_dashboards"),
    ("Executive", "dashboards:executive", "core.view_dashboards"),
    ("Marketing ROI", "dashboards:marketing", "core.view_dashboards"),
    ("Sales", "dashboards:sales", "core.view_dashboards"),
    ("CAC", "dashboards:cac", "core.view_dashboards"),
    ("Retention", "dashboards:retention", "core.view_dashboards"),
    ("Product ROI", "dashboards:product", "core.view_dashboards"),
    ("Forecast", "dashboards:forecast", "core.view_dashboards"),
    ("Reports", "reports:index", "core.view_dashboards"),
    ("Close", "closing:list", "closing.view_close"),
    ("Connectors", "connectors:health", "connectors.view_syncrun"),
    ("Alerts", "alerts:list", "alerts.view_alertinstance"),
    ("Operations", "operations:index", "operations.view_operations"),
]


def navigation(request: HttpRequest) -> dict[str, list[dict[str, str | bool]]]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items: list[dict[str, str | bool]] = []
    for label, url_name, perm in NAVIGATION:
        if perm and not user.has_perm(perm):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path == url})
    return {"nav_items": items}
