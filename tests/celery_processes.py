"""Start real Celery worker and beat processes against the test database and broker.

Each test gets its own queues, so a worker started by `make run` on the same broker never
takes the test's messages and the test's worker never takes anyone else's: either one
private queue its tasks are sent to explicitly (:func:`new_queue_name`), or a private
prefix on every routed queue (:func:`private_queues`), for tests of the routing itself.
"""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def test_database_url() -> str:
    """DATABASE_URL of the database pytest-django created, for child processes."""
    cfg = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{cfg['NAME']}"
    user = quote(cfg.get("USER") or "")
    password = f":{quote(cfg['PASSWORD'])}" if cfg.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = cfg.get("HOST") or "127.0.0.1"
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{cfg['NAME']}"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = test_database_url()
    env["DJANGO_SETTINGS_MODULE"] = "finhub.settings"
    env.pop("FINHUB_REQUIRE_SERVICES", None)
    # As in production (Procfile, docs/operations.md): SIGTERM stops within the grace period.
    env["REMAP_SIGTERM"] = "SIGQUIT"
    return env


def new_queue_name() -> str:
    return f"finhub-test-{uuid.uuid4().hex[:12]}"


def private_queues(settings, monkeypatch) -> str:
    """Give this test its own copy of every queue: a prefix used by the routing in this
    process (the ``settings`` fixture) and in the workers it starts (their environment).
    Returns the prefix; ``queues.queue_name(queues.SYNC)`` then names the test's sync queue."""
    prefix = f"{new_queue_name()}-"
    settings.FINHUB_QUEUE_PREFIX = prefix
    monkeypatch.setenv("FINHUB_QUEUE_PREFIX", prefix)
    return prefix


@contextmanager
def celery_process(
    args: list[str], log_path: Path, *, new_session: bool = False
) -> Iterator[subprocess.Popen]:
    """Run ``celery -A finhub <args>`` until the block ends, then stop it. ``new_session``:
    in a process group of its own (its pid), which a test can signal whole as honcho and
    systemd do."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "finhub", *args],
            cwd=ROOT,
            env=child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def worker_args(queue: str, *, hostname: str | None = None) -> list[str]:
    """A one-process worker consuming ``queue`` (names separated by commas)."""
    return [
        "worker",
        "--queues",
        queue,
        "--hostname",
        f"{hostname or queue}@%h",
        "--concurrency",
        "1",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]


def beat_args(schedule_file: Path) -> list[str]:
    return [
        "beat",
        "--scheduler",
        "django_celery_beat.schedulers:DatabaseScheduler",
        "--schedule",
        str(schedule_file),
        "--max-interval",
        "1",
        "--loglevel",
        "INFO",
    ]


def wait_for(
    condition: Callable[[], bool],
    *,
    timeout: float,
    processes: list[subprocess.Popen],
    logs: list[Path],
) -> None:
    """Poll ``condition``; fail with the processes' output if they die or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for proc in processes:
            if proc.poll() is not None:
                raise AssertionError(f"celery exited early ({proc.returncode}):\n{_tail(logs)}")
        time.sleep(0.5)
    raise AssertionError(f"condition not met within {timeout}s:\n{_tail(logs)}")


def _tail(logs: list[Path]) -> str:
    parts = []
    for path in logs:
        text = path.read_text(errors="replace") if path.exists() else ""
        parts.append(f"--- {path.name} ---\n{text[-4000:]}")
    return "\n".join(parts)
