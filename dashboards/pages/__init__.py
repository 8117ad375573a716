"""The dashboard pages: one module per page, each with its builder(s) ``build(dash) -> Page``
(and ``drill_build`` for its drill-down) that ``dashboards/views.py`` turns into views.

Builders read stored reports (``metrics.snapshots``, ``metrics.reports``) and the records
behind a figure (``metrics.selectors``); they shape, never compute, the figures.
"""
