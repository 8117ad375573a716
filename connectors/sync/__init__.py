"""Pulling data from source systems (issue #5): ``runs`` (request, pause, resume, reset, how a
run ended and the one circuit breaker), ``engine`` (execute a run), ``adapters`` / ``http`` /
``auth`` (read a source), ``mapping`` (source record -> canonical row), ``locks`` (the
per-connector lease), ``reconcile`` (control totals), ``reaper`` (lost runs) and ``probe``
(the connection test)."""
