"""Benchmark: general-ledger lines through the real HTTP ingest API vs a raw PostgreSQL COPY.

Starts gunicorn on 127.0.0.1 (a real server process) with a fresh connector and API token,
pushes N ledger lines in 5,000-row JSON requests, then COPYs the same rows into scratch
tables and prints rows/s for each and the ratio. Everything it creates is removed at the end
(unless --keep). See docs/benchmarks.md for recorded figures.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from connectors.models import Connector
from records.ingestion.services import Actor, ingest_records
from records.models import Account, Department, GLLine, IngestBatch

ACCOUNTS = 40
DEPARTMENTS = 8


class Command(BaseCommand):
    help = "Benchmark ledger-line ingestion through the HTTP API against a raw COPY."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=200_000)
        parser.add_argument("--batch", type=int, default=5_000, help="records per request")
        cpus = os.cpu_count() or 2
        parser.add_argument(
            "--workers", type=int, default=cpus, help="gunicorn worker processes (default: CPUs)"
        )
        parser.add_argument(
            "--concurrency", type=int, default=cpus, help="requests in flight (default: CPUs)"
        )
        parser.add_argument(
            "--engine-only",
            action="store_true",
            help="call the ingestion engine in this process instead of the HTTP API",
        )
        parser.add_argument("--keep", action="store_true", help="keep the loaded rows")

    def handle(self, *args, **opts):
        rows, batch = opts["rows"], opts["batch"]
        if rows < 1 or not 1 <= batch <= 5000:
            raise CommandError("--rows must be positive and --batch between 1 and 5000")
        run = uuid.uuid4().hex[:8]
        self.stdout.write(
            f"Database: {connection.vendor} ({settings.DATABASES['default'].get('NAME')}); "
            f"{rows:,} ledger lines in requests of {batch:,}; run {run}"
        )
        source = Connector.objects.create(name=f"bench-{run}", kind=Connector.Kind.ERP)
        try:
            records = self._records(source, run, rows)
            if opts["engine_only"]:
                label = "engine (in process, no HTTP)"
                seconds = self._engine(source, records, batch)
            else:
                label = (
                    f"HTTP API (gunicorn, {opts['workers']} workers, "
                    f"{opts['concurrency']} requests in flight)"
                )
                seconds = self._http(source, records, batch, opts["workers"], opts["concurrency"])
            stored = GLLine.objects.filter(source=source).count()
            if stored != rows:
                raise CommandError(f"expected {rows} stored lines, found {stored}")
            api_rate = rows / seconds
            self.stdout.write(f"{label}: {rows:,} rows in {seconds:.2f} s = {api_rate:,.0f} rows/s")
            if connection.vendor != "postgresql":
                self.stdout.write("COPY baseline skipped: it needs PostgreSQL.")
                return
            for title, seconds_copy in self._copy(source, records):
                copy_rate = rows / seconds_copy
                self.stdout.write(
                    f"raw COPY into {title}: {seconds_copy:.2f} s = {copy_rate:,.0f} rows/s; "
                    f"API/COPY = {100 * api_rate / copy_rate:.1f}%"
                )
        finally:
            if not opts["keep"]:
                self._cleanup(source)

    # --- data ------------------------------------------------------------------------------

    def _records(self, source, run, rows) -> list[dict]:
        actor = Actor(via="sync", request_id=f"bench-{run}")
        ingest_records(
            source=source,
            entity="accounts",
            records=[
                {
                    "external_id": f"A{i}",
                    "code": str(6000 + i),
                    "name": f"Account {i}",
                    "type": "expense",
                }
                for i in range(ACCOUNTS)
            ],
            actor=actor,
        )
        ingest_records(
            source=source,
            entity="departments",
            records=[{"external_id": f"D{i}", "name": f"Dept {i}"} for i in range(DEPARTMENTS)],
            actor=actor,
        )
        rng = random.Random(4)
        currencies = ["USD", "EUR", "GBP"]
        return [
            {
                "external_id": f"{run}-{i}",
                "account": f"A{i % ACCOUNTS}",
                "department": f"D{i % DEPARTMENTS}",
                "posting_date": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "amount": Decimal(rng.randint(-10_000_000, 10_000_000)).scaleb(-2),
                "currency": currencies[i % 3],
                "description": f"Bench line {i}",
                "updated_at": "2026-11-01T12:00:00Z",
            }
            for i in range(rows)
        ]

    # --- ingestion through the engine or the API ---------------------------------------------

    def _engine(self, source, records, batch) -> float:
        actor = Actor(via="sync", request_id="bench")
        start = time.perf_counter()
        for i in range(0, len(records), batch):
            result = ingest_records(
                source=source, entity="gl_lines", records=records[i : i + batch], actor=actor
            )
            if result.rejected:
                raise CommandError(f"rejected rows: {result.errors[:3]}")
        return time.perf_counter() - start

    def _http(self, source, records, batch, workers, concurrency) -> float:
        from connectors.services import api_token_create

        _, secret = api_token_create(connector=source, name="bench", allowed_entities=["gl_lines"])

        bodies = []
        for i in range(0, len(records), batch):
            # Amounts go out as JSON numbers written from the Decimal's exact text.
            chunk = [{**r, "amount": f"@@{r['amount']}@@"} for r in records[i : i + batch]]
            text = json.dumps(chunk, separators=(",", ":"))
            bodies.append(text.replace('"@@', "").replace('@@"', "").encode())
        port = _free_port()
        server = self._start_server(port, workers)
        try:
            headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
            path = "/api/v1/ingest/gl_lines/"

            def send(chunk_bodies):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                try:
                    for body in chunk_bodies:
                        conn.request("POST", path, body=body, headers=headers)
                        response = conn.getresponse()
                        payload = response.read()
                        if response.status != 201:
                            raise CommandError(f"HTTP {response.status}: {payload[:500]!r}")
                        created = json.loads(payload)["created"]
                        if created != body.count(b'"external_id"'):
                            raise CommandError(f"unexpected result {payload[:500]!r}")
                finally:
                    conn.close()

            # Warm each worker (imports, first connection) outside the timing.
            for _ in range(workers * 2):
                _get(port, "/healthz")
            lanes = [bodies[i::concurrency] for i in range(concurrency)]
            start = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as pool:
                for future in [pool.submit(send, lane) for lane in lanes if lane]:
                    future.result()
            return time.perf_counter() - start
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()

    def _start_server(self, port, workers) -> subprocess.Popen:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        env = {**os.environ, "DEBUG": "false", "LOG_LEVEL": "WARNING"}
        log = open(Path(settings.VAR_DIR) / "bench-server.log", "wb")  # noqa: SIM115
        server = subprocess.Popen(  # noqa: S603
            [
                str(gunicorn),
                "finhub.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "300",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(f"gunicorn exited; see {log.name}")
            try:
                _get(port, "/healthz")
                return server
            except OSError:
                time.sleep(0.2)
        server.terminate()
        raise CommandError("gunicorn did not start within 60 s")

    # --- the raw COPY baseline ------------------------------------------------------------------

    def _copy(self, source, records) -> list[tuple[str, float]]:
        """COPY the same rows, in the columns the engine writes, into two scratch tables:
        one bare, one with the ledger table's indexes and constraints."""
        accounts = dict(Account.objects.filter(source=source).values_list("external_id", "pk"))
        departments = dict(
            Department.objects.filter(source=source).values_list("external_id", "pk")
        )
        now = "2026-11-27T00:00:00+00:00"
        cols = (
            "external_id, source_updated_at, row_hash, account_external_id, account_id, "
            "department_external_id, department_id, posting_date, amount, currency, "
            "description, campaign_external_id, initiative_external_id, customer_external_id, "
            "source_id, created_at, updated_at"
        )
        buffer = io.StringIO()
        for r in records:
            buffer.write(
                f"copy-{r['external_id']}\t{r['updated_at']}\t{uuid.uuid4().hex}\t{r['account']}\t"
                f"{accounts[r['account']]}\t{r['department']}\t{departments[r['department']]}\t"
                f"{r['posting_date']}\t{r['amount']}\t{r['currency']}\t{r['description']}\t"
                f"\t\t\t{source.pk}\t{now}\t{now}\n"
            )
        text = buffer.getvalue()
        results = []
        for title, create in (
            (
                "a bare scratch table",
                f"CREATE TABLE bench_copy_scratch AS SELECT {cols} FROM metrics_glline "  # noqa: S608
                "WITH NO DATA",
            ),
            (
                "a scratch table with metrics_glline's indexes",
                "CREATE TABLE bench_copy_scratch (LIKE metrics_glline INCLUDING ALL)",
            ),
        ):
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_copy_scratch")
                cursor.execute(create)
            start = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.cursor.copy_expert(
                    f"COPY bench_copy_scratch ({cols}) FROM STDIN", io.StringIO(text)
                )
            results.append((title, time.perf_counter() - start))
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE bench_copy_scratch")
        return results

    def _cleanup(self, source) -> None:
        GLLine.objects.filter(source=source).delete()
        Account.objects.filter(source=source).delete()
        Department.objects.filter(source=source).delete()
        IngestBatch.objects.filter(source=source).delete()
        source.api_tokens.all().delete()
        source.delete()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port, path) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()
