"""Server-rendered dashboards over the metrics engine's stored reports (no models).

A page is a *builder* in ``dashboards/pages/`` — a plain function ``build(dash:
DashboardRequest) -> Page`` — registered with :func:`dashboards.page.dashboard_view` in
``views.py``, which handles the permission, parses the period (``period.py``) and filters
(``filters.py``) with a 400 naming a bad value, renders the page, and serves
``?table=<id>&format=csv|xlsx`` exports (``exports.py``) of any table (``tables.py``,
``charts.py``) the builder returned. Builders read ``metrics.snapshots``,
``metrics.reports`` and ``metrics.selectors``; they never compute a figure.
"""
