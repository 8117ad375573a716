"""The services a fault run starts on private ports, and stops: PostgreSQL, Redis, the
sandbox source, Celery workers and gunicorn. Standard library only (no Django), so the
database and broker exist before Django is configured to use them.

Every process gets its own session (process group), so a stop reaches its children too
(a prefork worker's pool, gunicorn's workers) and ``kill -9`` of a worker is the loss of
the whole worker, as when its machine or container dies.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ServiceError(RuntimeError):
    """A service did not start (or stop) as it should; the message says which and why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise ServiceError(f"{what}: not ready within {timeout:.0f} s")


def http_json(url: str, *, method: str = "GET", body: dict | None = None, timeout: float = 10):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback URLs we built ourselves
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read() or b"null")


class Managed:
    """A child process in its own session, with its output in a log file."""

    def __init__(self, name: str, log_path: Path):
        self.name = name
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def spawn(self, args: list[str], *, env: dict[str, str] | None = None) -> None:
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - fixed argument lists
                args,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def kill9(self) -> None:
        """SIGKILL the whole process group: no shutdown, no acks, no cleanup."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, grace: float = 20) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        # The group may outlive its leader (pool children): make sure it is gone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    configured = os.environ.get("PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ServiceError("PostgreSQL binaries not found: set PG_BIN to the folder with initdb")


class Postgres:
    """A throw-away cluster (trust auth, fsync off) on a private port and socket folder.

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user
    and its commands run through ``runuser``.
    """

    def __init__(self, base: Path, port: int):
        self.base = base
        self.port = port
        self.data = base / "pg" / "data"
        self.sockets = base / "pg" / "sock"
        self.log = base / "pg" / "postgres.log"
        self.bindir = postgres_bindir()
        self.as_root = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/finhub"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if check and result.returncode != 0:
            raise ServiceError(f"{args[0]} failed: {result.stderr.strip() or result.stdout}")
        return result

    def init(self) -> None:
        (self.base / "pg").mkdir(parents=True)
        self.sockets.mkdir()
        if self.as_root:
            shutil.chown(self.base / "pg", "postgres", "postgres")
            shutil.chown(self.sockets, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        self.start()
        self._run("createdb", "-h", str(self.sockets), "-p", str(self.port), "finhub")

    def start(self) -> None:
        options = (
            # fsync off: only the machine crashing could lose data, and it does not here.
            # synchronous_commit stays on: a crashed server must keep every commit it
            # acknowledged, or a "restart mid-ingest" would lose accepted batches.
            f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` is a crash: every backend killed, recovery at the next start."""
        if (self.data / "postmaster.pid").exists():
            self._run(
                "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False
            )

    def restart_crash(self, down_seconds: float) -> None:
        self.stop("immediate")
        time.sleep(down_seconds)
        self.start()


# --- Redis -----------------------------------------------------------------------------------


class Redis(Managed):
    """redis-server without persistence: a restart loses every queued message, the worst
    case for a broker."""

    def __init__(self, base: Path, port: int):
        super().__init__("redis", base / "redis.log")
        self.port = port

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise ServiceError("redis-server is not on PATH")
        self.spawn(
            [
                server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ]
        )
        wait_until(lambda: port_open(self.port), timeout=20, what="redis")

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


# --- the sandbox source ------------------------------------------------------------------------


class Sandbox(Managed):
    def __init__(self, base: Path, port: int, *, scale: float, seed: int, end_month: str):
        super().__init__("sandbox", base / "sandbox.log")
        self.port = port
        self.scale = scale
        self.seed = seed
        self.end_month = end_month

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, env: dict[str, str]) -> None:
        self.spawn(
            [
                sys.executable,
                "-m",
                "connectors.sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--scale",
                str(self.scale),
                "--seed",
                str(self.seed),
                "--end-month",
                self.end_month,
                "--quiet",
            ],
            env=env,
        )
        wait_until(self._ready, timeout=120, what="sandbox")

    def _ready(self) -> bool:
        if not self.alive:
            raise ServiceError(f"sandbox exited:\n{self.tail()}")
        try:
            http_json(self.url + "/_sandbox", timeout=2)
        except (OSError, ValueError):
            return False
        return True

    def faults(self, rules: list[dict]) -> None:
        http_json(self.url + "/_sandbox/faults", method="POST", body={"rules": rules})

    def clear_faults(self) -> None:
        http_json(self.url + "/_sandbox/faults", method="DELETE", body={})

    def mutate(self, system: str, resource: str, **changes: int) -> dict:
        return http_json(
            self.url + "/_sandbox/mutate",
            method="POST",
            body={"system": system, "resource": resource, **changes},
        )

    def stats(self) -> dict:
        return http_json(self.url + "/_sandbox/stats")


# --- Celery workers and gunicorn -----------------------------------------------------------------


class Worker(Managed):
    def __init__(self, base: Path, marker: str, number: int, queues: list[str]):
        super().__init__(f"worker-{number}", base / f"worker-{number}.log")
        self.hostname = f"{marker}-w{number}@%h"
        self.queues = queues

    def start(self, env: dict[str, str]) -> None:
        self.spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "finhub",
                "worker",
                "--queues",
                ",".join(self.queues),
                "--hostname",
                self.hostname,
                "--concurrency",
                "2",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            env=env,
        )
        wait_until(self._ready, timeout=90, what=self.name)

    def _ready(self) -> bool:
        if not self.alive:
            raise ServiceError(f"{self.name} exited:\n{self.tail()}")
        return " ready." in self.tail(20000)


class Gunicorn(Managed):
    def __init__(self, base: Path, marker: str, port: int):
        super().__init__("gunicorn", base / "gunicorn.log")
        self.port = port
        self.marker = marker

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, env: dict[str, str]) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.spawn(
            [
                str(gunicorn),
                "finhub.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "3",
                "--timeout",
                "60",
                "--name",
                f"{self.marker}-web",
            ],
            env=env,
        )
        wait_until(self._ready, timeout=90, what="gunicorn")

    def _ready(self) -> bool:
        if not self.alive:
            raise ServiceError(f"gunicorn exited:\n{self.tail()}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5):  # noqa: S310
                return True
        except urllib.error.HTTPError:
            return True  # it answers; a failing health check is not our concern here
        except OSError:
            return False


def stray_processes(marker: str) -> list[str]:
    """Command lines of processes still running that belong to this run."""
    result = subprocess.run(  # noqa: S603
        ["pgrep", "-af", marker],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    own = str(os.getpid())
    return [line for line in result.stdout.splitlines() if line and line.split()[0] != own]
