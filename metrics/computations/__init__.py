"""Pure metric computations, one module per section of docs/metrics.md.

Every module here takes plain data (dataclasses, Decimal, Fraction, datetime, int) and returns
plain data. Nothing here imports Django or the ORM: selectors feed these functions and
services store their results. Each function cites the docs/metrics.md section it implements.

Undefined ratios (a zero denominator) are returned as ``None`` and presented as
``"undefined"`` (:func:`metrics.computations.presentation.format_ratio`), never 0 or infinity.
"""
