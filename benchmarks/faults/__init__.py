"""`make fault-test`: FinHub against real PostgreSQL, Redis, workers and the sandbox source,
with faults injected (a worker killed, Redis and PostgreSQL restarted, racing duplicate
pushes, skewed webhook clocks, a chaotic source), each scenario ending with the database
reconciled against the source to the cent.

``run.py`` is the entry point; ``processes.py`` starts and stops the services (no Django);
``checks.py`` holds the pure equality checks; ``scenarios.py`` the scenarios themselves.
Nothing in the app imports this package.
"""
