"""Dashboard infrastructure (issue #7): period picker, URL filters, tables, charts, exports.

A dashboard page is a *builder* — a plain function ``build(request: DashboardRequest) ->
Page`` — registered with :func:`metrics.dashboards.pages.dashboard_view`, which handles the
permission, parses the period and filters (400 with the reason on a bad value), renders the
page, and serves ``?table=<id>&format=csv|xlsx`` exports of any table the builder returned.
See /work/helper-notes/dashboards-infra.md (and docs) for how to add a page.
"""
