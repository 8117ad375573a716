"""`make fault-test`: ``python -m benchmarks.faults.run [--chaos-minutes 3] [--only abc]``.

Starts its own PostgreSQL, Redis, sandbox source, gunicorn and Celery worker on private
ports (under /tmp/finhub-faults-<pid>), migrates, syncs the sandbox company, then runs the
fault scenarios (scenarios.py), printing PASS/FAIL with the reconciliation figures of each.
Exits 1 when any scenario fails. Everything it started is stopped at the end, also on
Ctrl-C or SIGTERM, and the run checks that no process of it is left.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .processes import (
    Gunicorn,
    Postgres,
    Redis,
    Sandbox,
    ServiceError,
    Worker,
    free_port,
    stray_processes,
)

# Short enough that a lost worker's run is retried within the scenario, long enough for a
# slow page or a retried request (timeout 5 s + backoff <= 2 s) between two heartbeats.
STALE_SECONDS = 15


def _env(stack_env: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FINHUB_REQUIRE_SERVICES", "PYTEST_VERSION")
    }
    env.update(stack_env)
    return env


def _say(text: str = "") -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults.run")
    parser.add_argument(
        "--chaos-minutes",
        type=float,
        default=float(os.environ.get("FAULT_MINUTES") or 3),
        help="how long the sandbox stays in chaos mode (FAULT_MINUTES, default 3)",
    )
    parser.add_argument("--scale", type=float, default=float(os.environ.get("FAULT_SCALE") or 0.05))
    parser.add_argument("--only", default="", help="scenario letters to run, e.g. 'ad'")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder and logs")
    args = parser.parse_args(argv)

    marker = f"finhub-faults-{os.getpid()}"
    base = Path(tempfile.gettempdir()) / marker
    base.mkdir(mode=0o755)
    base.chmod(0o755)  # the postgres user must reach its folder inside
    pg = Postgres(base, free_port())
    redis = Redis(base, free_port())
    sandbox = Sandbox(base, free_port(), scale=args.scale, seed=7, end_month="2026-10")
    gunicorn = Gunicorn(base, marker, free_port())
    workers: list[Worker] = []
    failed = True

    def on_sigterm(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    try:
        _say(f"Fault suite {marker}: services under {base}")
        pg.init()
        redis.start()
        stack_env = {
            "DJANGO_SETTINGS_MODULE": "finhub.settings",
            "DATABASE_URL": pg.url,
            "CELERY_BROKER_URL": redis.url(0),
            "REDIS_URL": redis.url(1),
            "FINHUB_VAR_DIR": str(base / "var"),
            "DEBUG": "false",
            "LOG_LEVEL": "INFO",
            "FINHUB_SYNC_STALE_SECONDS": str(STALE_SECONDS),
            "FINHUB_SYNC_TIMEOUT_SECONDS": "5",
            "FINHUB_SYNC_BACKOFF_SECONDS": "0.2",
            "FINHUB_SYNC_BACKOFF_MAX_SECONDS": "2",
            "FINHUB_RECOMPUTE_DEBOUNCE_SECONDS": "5",
            "FINHUB_SANDBOX_URL": sandbox.url,
            # The clients here retry on purpose; the per-token rate limit is not under test.
            "FINHUB_API_TOKEN_RATE": "100000/min",
        }
        os.environ.update(stack_env)  # this process uses the same database and broker
        env = _env(stack_env)
        _say(
            f"  postgres :{pg.port}  redis :{redis.port}  sandbox :{sandbox.port}  "
            f"gunicorn :{gunicorn.port}"
        )
        sandbox.start(env)
        failed = _run(args, marker, base, env, pg, redis, sandbox, gunicorn, workers)
    except KeyboardInterrupt:
        _say("\ninterrupted: stopping everything")
    except ServiceError as exc:
        _say(f"FAIL setup: {exc}")
    finally:
        # Teardown is bounded by timeouts; a second Ctrl-C must not leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _teardown(pg, redis, sandbox, gunicorn, workers)
        stray = stray_processes(marker)
        stray += [f"{m.name} pid {m.pid}" for m in (redis, sandbox) if m.alive]
        if stray:
            failed = True
            _say("FAIL stray processes left:\n  " + "\n  ".join(stray))
        else:
            _say(f"teardown: no process left (pgrep -f {marker}: none)")
        if args.keep:
            _say(f"logs kept in {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    _say(f"fault suite {'FAILED' if failed else 'passed'} in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


def _run(args, marker, base, env, pg, redis, sandbox, gunicorn, workers) -> bool:
    """Migrate, configure, sync the baseline and run the scenarios; True when any failed."""
    import django

    django.setup()
    from django.core.management import call_command

    from . import scenarios, setup

    t = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    _say(f"  migrated in {time.monotonic() - t:.0f} s")
    queues = setup.worker_queues()

    def start_worker() -> Worker:
        worker = Worker(base, marker, len(workers) + 1, queues)
        worker.start(env)
        workers.append(worker)
        return worker

    gunicorn.start(env)
    start_worker()
    stack = setup.stack_build(
        marker=marker,
        env=env,
        postgres=pg,
        redis=redis,
        sandbox=sandbox,
        gunicorn=gunicorn,
        queues=queues,
        start_worker=start_worker,
        workers=workers,
        chaos_minutes=args.chaos_minutes,
    )
    _say(f"  worker queues: {', '.join(queues)}; sandbox scale {args.scale}")
    results: list[tuple[str, bool, float]] = []
    chosen = [
        (name, fn) for name, fn in scenarios.SCENARIOS if not args.only or name[0] in args.only
    ]
    for name, fn in [("baseline: first sync of the six sandbox systems", setup.baseline), *chosen]:
        out = scenarios.Outcome()
        t = time.monotonic()
        _say(f"\n== {name} ({scenarios.now_utc()})")
        try:
            fn(stack, out)
            ok, error = True, ""
        except Exception as exc:  # a scenario failure is reported, the next one still runs
            ok = False
            error = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, scenarios.ScenarioFailure):
                error += "\n" + traceback.format_exc(limit=6)
        seconds = time.monotonic() - t
        for line in out.lines:
            _say(f"    {line}")
        if error:
            _say(f"    {error}")
        _say(f"{'PASS' if ok else 'FAIL'} {name} ({seconds:.0f} s)")
        results.append((name, ok, seconds))
        if not ok and name.startswith("baseline"):
            break
    _say("\nSummary")
    for name, ok, seconds in results:
        _say(f"  {'PASS' if ok else 'FAIL'}  {name}  {seconds:.0f} s")
    return not all(ok for _, ok, _ in results)


def _teardown(pg, redis, sandbox, gunicorn, workers) -> None:
    for managed in [gunicorn, *reversed(workers), sandbox, redis]:
        try:
            managed.stop()
        except Exception as exc:  # keep stopping the others
            _say(f"  stopping {managed.name}: {exc}")
    try:
        from django.db import connections

        connections.close_all()
    except Exception:  # noqa: S110 - Django may never have been set up
        pass
    pg.stop("fast")
    pg.stop("immediate")


if __name__ == "__main__":
    sys.exit(main())
