"""The sandbox source: a deterministic synthetic company served by six fake source systems.

- ``company.py``: ``generate(seed=, scale=, end_month=)``, the one generator of the company
  (sandbox, demo and benchmarks).
- ``server.py``: ``SandboxServer`` (stdlib HTTP, Django-free), ``faults.py`` its fault
  injection, ``shapes.py`` how each system shapes the canonical rows.
- ``mappings.py``: the FinHub side (connector settings and sync_config per system).
- ``python -m connectors.sandbox --port 8765 --scale 1 --seed 7 [--fault http_503:0.05]``.
"""
