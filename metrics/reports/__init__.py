"""The reports of the metrics engine, one module and one compute function per kind.

``attribution.attribution_report``, ``roi.roi_report`` (campaign ROI), ``cac.cac_report``,
``sales.sales_report`` (all teams or one) and ``budget.budget_report`` (any grouping incl.
department x account); docs/metrics.md defines each figure. Each reads through
``metrics.selectors``, computes with ``metrics.computations`` and returns the JSON-ready
result a snapshot stores (``metrics.snapshots``); ``numbers`` says how numbers are written
in it and read back.
"""
