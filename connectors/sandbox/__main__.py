"""Run the sandbox source: ``python -m connectors.sandbox --port 8765 --scale 1 --seed 7``.

Django-free: the company generator and the server need only the standard library.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import time

from .faults import FaultConfigError, parse_cli
from .server import SYSTEMS, SandboxServer


def _month(raw: str) -> dt.date:
    return dt.date.fromisoformat(raw if len(raw) > 7 else raw + "-01").replace(day=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m connectors.sandbox",
        description="FinHub sandbox source: six fake source systems over HTTP.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--end-month",
        type=_month,
        default=None,
        help="YYYY-MM, the last month of data (default: the last complete month)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:PROBABILITY][@PATH]",
        help="inject a fault, e.g. http_503:0.05 (repeatable)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    args = parser.parse_args(argv)
    try:
        rules = [parse_cli(spec) for spec in args.fault]
    except FaultConfigError as exc:
        parser.error(str(exc))
    started = time.monotonic()
    sandbox = SandboxServer(
        host=args.host,
        port=args.port,
        seed=args.seed,
        scale=args.scale,
        end_month=args.end_month,
        faults=rules,
        log=not args.quiet,
    )
    company = sandbox.company
    print(
        f"sandbox: {company.total_rows()} rows (seed {args.seed}, scale {args.scale}, "
        f"{company.start_month:%Y-%m}..{company.end_month:%Y-%m}) generated in "
        f"{time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sandbox.start()
    for prefix, auth, pagination in SYSTEMS.values():
        print(f"  {sandbox.url}{prefix}  ({auth}, {pagination})", file=sys.stderr)
    print(f"sandbox: listening on {sandbox.url}", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
