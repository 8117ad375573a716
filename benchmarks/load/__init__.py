"""``make load-test``: mixed HTTP traffic from locust against gunicorn on loopback.

``payloads`` builds the ingest pushes and signed webhook deliveries, ``verdict`` turns
locust's statistics into the per-endpoint table and the pass/fail decision (both pure, so
the tests check them without a server), ``locustfile`` is what locust runs and
``benchmarks/management/commands/load_test.py`` prepares the data, the server and the run.
Nothing in the application imports this package.
"""
