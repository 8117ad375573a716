"""The fault scenarios. Each one injects its fault while FinHub works, lets the pending
syncs finish (the orchestrator plays beat's part: it runs the reaper), and ends with the
equality check: FinHub's live records against the source's control totals per entity and
month (sandbox connectors) or against exactly what the client sent (pushes, webhooks),
counts and amounts to the cent.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
from django.db import close_old_connections, connection

from connectors.models import Connector, IdempotencyKey, SyncRun, WebhookEvent
from connectors.sync import reaper, reconcile
from connectors.sync.adapters import adapter_for
from connectors.sync.http import SourceClient
from connectors.sync.mapping import entity_configs
from connectors.sync.runs import connector_resume, sync_request
from connectors.webhooks import SIGNATURE_HEADER, TOLERANCE_SECONDS, signature_header
from records.models import GLLine

from .checks import Comparison, totals_compare, totals_of
from .processes import Gunicorn, Postgres, Redis, Sandbox, Worker

ACTIVE = (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)
GL_MONTHS = ("2026-07", "2026-08", "2026-09", "2026-10")


class ScenarioFailure(AssertionError):
    """The scenario's expectation did not hold; the message says what was seen."""


@dataclass
class Stack:
    """The running services and what the scenarios share."""

    marker: str
    env: dict[str, str]
    postgres: Postgres
    redis: Redis
    sandbox: Sandbox
    gunicorn: Gunicorn
    queues: list[str]
    start_worker: Callable[[], Worker]
    workers: list[Worker] = field(default_factory=list)
    connectors: list[Connector] = field(default_factory=list)
    push_token: str = ""
    push_connector: Connector | None = None
    webhook_connector: Connector | None = None
    webhook_secret: str = ""
    chaos_minutes: float = 3.0

    @property
    def worker(self) -> Worker:
        return self.workers[-1]

    def connector(self, system: str) -> Connector:
        prefix = self.sandbox.url + f"/{system}/"
        return next(c for c in self.connectors if c.base_url.startswith(prefix))


@dataclass
class Outcome:
    lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(text)


# --- equality ----------------------------------------------------------------------------------


def source_compare(connector: Connector) -> Comparison:
    """The connector's live records against its source's control totals, per entity/month."""
    connector.refresh_from_db()
    client = SourceClient(connector)
    expected: dict = {}
    actual: dict = {}
    try:
        adapter = adapter_for(connector, client)
        for config in entity_configs(connector.sync_config):
            entity = config["entity"]
            theirs = reconcile.source_totals(
                entity=entity, totals=adapter.control_totals(config["resource"])
            )
            ours = reconcile.finhub_totals(connector=connector, entity=entity)
            expected.update({(entity, month): bucket for month, bucket in theirs.items()})
            actual.update({(entity, month): bucket for month, bucket in ours.items()})
    finally:
        client.close()
    return totals_compare(label=connector.name, expected=expected, actual=actual)


def sources_equal(stack: Stack, out: Outcome) -> None:
    failures = []
    for connector in stack.connectors:
        comparison = source_compare(connector)
        out.say(comparison.summary())
        if not comparison.ok:
            failures.append(connector.name)
    if failures:
        raise ScenarioFailure(f"FinHub differs from the source for {', '.join(failures)}")


def sent_compare(*, label: str, connector: Connector, records: list[dict]) -> Comparison:
    """Stored gl_lines of ``connector`` against the records a client sent."""
    expected = totals_of(records, date_field="posting_date", amount_field="amount")
    actual = reconcile.finhub_totals(connector=connector, entity="gl_lines")
    return totals_compare(label=label, expected=expected, actual=actual)


# --- syncs -------------------------------------------------------------------------------------


def worker_supervise(stack: Stack, out: Outcome) -> None:
    """Play the process supervisor (systemd, Kubernetes): a worker that exited is noted,
    with the reason from its log, and replaced."""
    worker = stack.worker
    if worker.alive:
        return
    reason = next(
        (
            line.split(" ", 4)[-1]
            for line in reversed(worker.tail(200_000).splitlines())
            if "CRITICAL" in line or "Unrecoverable" in line
        ),
        "no reason logged",
    )
    out.say(
        f"NOTE {worker.name} exited (code {worker.proc.returncode if worker.proc else '?'}): "
        f"{reason[:160]}; restarted, as its supervisor would"
    )
    stack.start_worker()


def runs_settle(
    *,
    timeout: float,
    since_pk: int = 0,
    supervise: Callable[[], None] | None = None,
) -> list[SyncRun]:
    """Wait until no run is queued or running, reaping as beat would (lost workers' runs are
    abandoned and retried, runs whose message was lost are sent again)."""
    deadline = time.monotonic() + timeout
    while True:
        if supervise is not None:
            supervise()
        close_old_connections()
        reaper.sync_runs_reap()
        reaper.queued_runs_resend()
        if not SyncRun.objects.filter(status__in=ACTIVE).exists():
            return list(SyncRun.objects.filter(pk__gt=since_pk).order_by("pk"))
        if time.monotonic() > deadline:
            stuck = list(SyncRun.objects.filter(status__in=ACTIVE).values("pk", "status"))
            raise ScenarioFailure(f"runs still active after {timeout:.0f} s: {stuck}")
        time.sleep(1)


def runs_request(connectors: list[Connector], *, mode: str = SyncRun.Mode.INCREMENTAL) -> list:
    return [
        sync_request(connector, trigger=SyncRun.Trigger.MANUAL, mode=mode)
        for connector in connectors
    ]


def runs_line(runs: list[SyncRun]) -> str:
    counts = Counter(run.status for run in runs)
    return "runs: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def entity_pages(run: SyncRun, entity: str) -> int:
    return int((run.entity_stats or {}).get(entity, {}).get("pages", 0))


def wait_for_pages(run: SyncRun, entity: str, pages: int, *, timeout: float) -> None:
    """Wait until ``run`` has committed ``pages`` pages of ``entity``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status == SyncRun.Status.RUNNING and entity_pages(run, entity) >= pages:
            return
        if run.status not in ACTIVE:
            raise ScenarioFailure(f"run #{run.pk} ended ({run.status}) before the fault")
        time.sleep(0.1)
    raise ScenarioFailure(f"run #{run.pk} did not reach {pages} pages in {timeout:.0f} s")


def slow_source(stack: Stack, system: str, resource: str, seconds: float) -> None:
    """Make each page of one resource slow, so a sync is reliably caught mid-way."""
    stack.sandbox.faults(
        [{"fault": "slow", "path": f"/{system}/v1/{resource}", "seconds": seconds}]
    )


# --- a. kill -9 a worker mid-sync ---------------------------------------------------------------


def worker_killed(stack: Stack, out: Outcome) -> None:
    erp = stack.connector("erp")
    since = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    changed = stack.sandbox.mutate("erp", "gl-lines", update=150, delete=25, create=400)
    out.say(f"source changes: {_changes(changed)}")
    slow_source(stack, "erp", "gl-lines", 0.4)
    (run,) = runs_request([erp])
    wait_for_pages(run, "gl_lines", 2, timeout=120)
    victim = stack.worker
    victim.kill9()
    run.refresh_from_db()
    committed = (run.entity_stats or {}).get("gl_lines", {})
    out.say(
        f"killed {victim.name} (pid {victim.pid}, SIGKILL to its process group) after "
        f"{committed.get('pages')} committed gl_lines pages ({committed.get('read')} rows read)"
    )
    stack.sandbox.clear_faults()
    stack.start_worker()
    runs = runs_settle(timeout=240, since_pk=since)
    run.refresh_from_db()
    retries = [r for r in runs if r.resumed_from_id == run.pk]
    out.say(f"run #{run.pk}: {run.status} ({run.message[:90]}); {runs_line(runs)}")
    if run.status != SyncRun.Status.ABANDONED:
        raise ScenarioFailure(f"the killed run #{run.pk} ended {run.status}, not abandoned")
    if not retries or retries[-1].status != SyncRun.Status.SUCCEEDED:
        raise ScenarioFailure(f"no succeeded retry of run #{run.pk}: {runs_line(runs)}")
    out.say(
        f"retry #{retries[-1].pk} resumed and succeeded: {retries[-1].rows_read} read, "
        f"{retries[-1].rows_created} created, {retries[-1].rows_updated} updated, "
        f"{retries[-1].rows_deleted} deleted"
    )
    sources_equal(stack, out)


def _changes(result: dict) -> str:
    return ", ".join(f"{k} {len(v) if isinstance(v, list) else v}" for k, v in result.items())


# --- b. restart Redis mid-sync --------------------------------------------------------------------


def redis_restarted(stack: Stack, out: Outcome) -> None:
    marketing = stack.connector("marketing")
    since = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    changed = stack.sandbox.mutate("marketing", "touchpoints", update=100, delete=20, create=300)
    out.say(f"source changes: {_changes(changed)}")
    slow_source(stack, "marketing", "touchpoints", 0.4)
    (run,) = runs_request([marketing])
    wait_for_pages(run, "touchpoints", 2, timeout=120)
    stack.redis.kill9()
    out.say(
        "redis killed (SIGKILL, no persistence: every queued message lost) after "
        f"{entity_pages(run, 'touchpoints')} committed touchpoints pages"
    )
    time.sleep(3)
    stack.redis.start()
    out.say("redis started again on the same port")
    stack.sandbox.clear_faults()
    supervise = lambda: worker_supervise(stack, out)  # noqa: E731
    runs_settle(timeout=240, since_pk=since, supervise=supervise)
    # A worker must consume again after the restart: a new run goes through the broker.
    stack.sandbox.mutate("marketing", "touchpoints", update=10, create=10)
    (after,) = runs_request([marketing])
    runs = runs_settle(timeout=180, since_pk=since, supervise=supervise)
    run.refresh_from_db()
    after.refresh_from_db()
    out.say(
        f"run #{run.pk}: {run.status} ({run.message[:90]}); run #{after.pk} queued after the "
        f"restart: {after.status}; {runs_line(runs)}"
    )
    if after.status != SyncRun.Status.SUCCEEDED:
        raise ScenarioFailure(f"the sync after the Redis restart ended {after.status}")
    if not any(r.status == SyncRun.Status.SUCCEEDED and r.pk <= after.pk for r in runs):
        raise ScenarioFailure("no run succeeded")
    sources_equal(stack, out)


# --- c. restart PostgreSQL mid-ingest -------------------------------------------------------------


@dataclass
class PushLog:
    statuses: Counter = field(default_factory=Counter)
    replays: int = 0
    accepted: dict[str, dict] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, key: str) -> None:
        with self.lock:
            self.statuses[key] += 1


def gl_batch(prefix: str, index: int, size: int, rng: random.Random) -> list[dict]:
    return [
        {
            "external_id": f"{prefix}-{index}-{i}",
            "account": f"FA{(index + i) % 10}",
            "posting_date": f"{rng.choice(GL_MONTHS)}-{rng.randint(1, 28):02d}",
            "amount": str(Decimal(rng.randint(-500_000, 2_000_000)).scaleb(-2)),
            "currency": "EUR",
            "description": f"fault push {index}/{i}",
        }
        for i in range(size)
    ]


def push_with_retry(
    stack: Stack, body: bytes, key: str, log: PushLog, *, deadline: float
) -> httpx.Response | None:
    """POST one batch until it is answered 2xx, retrying transient failures with the SAME
    Idempotency-Key (connection errors, 5xx, 409 while the first attempt still runs)."""
    headers = {
        "Authorization": f"Bearer {stack.push_token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    with httpx.Client(base_url=stack.gunicorn.url, timeout=30) as client:
        while time.monotonic() < deadline:
            try:
                response = client.post("/api/v1/ingest/gl_lines/", content=body, headers=headers)
            except httpx.TransportError as exc:
                log.note(f"connection error ({type(exc).__name__})")
                time.sleep(0.5)
                continue
            log.note(str(response.status_code))
            if response.is_success:
                if response.headers.get("Idempotent-Replayed"):
                    with log.lock:
                        log.replays += 1
                return response
            if response.status_code in (409, 429) or response.status_code >= 500:
                time.sleep(float(response.headers.get("Retry-After") or 0.5))
                continue
            with log.lock:
                log.refused[key] = f"{response.status_code} {response.text[:200]}"
            return None
    with log.lock:
        log.refused[key] = "no 2xx before the deadline"
    return None


def postgres_restarted(stack: Stack, out: Outcome) -> None:
    connector = stack.push_connector
    assert connector is not None
    run_id = uuid.uuid4().hex[:6]
    rng = random.Random(16)
    batches = [gl_batch(f"pg-{run_id}", i, 100, rng) for i in range(60)]
    log = PushLog()
    # Long enough for every retry after the restart; a key that still answers 409 by then
    # is stuck (a claim nobody is working on any more).
    deadline = time.monotonic() + 150
    queue = list(enumerate(batches))
    queue_lock = threading.Lock()

    def client_thread():
        while True:
            with queue_lock:
                if not queue:
                    return
                index, records = queue.pop(0)
            key = f"pg-{run_id}-{index}"
            response = push_with_retry(
                stack, json.dumps(records).encode(), key, log, deadline=deadline
            )
            if response is not None:
                with log.lock:
                    log.accepted[key] = response.json()

    threads = [threading.Thread(target=client_thread, daemon=True) for _ in range(4)]
    for thread in threads:
        thread.start()
    while len(log.accepted) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    connection.close()
    started = time.monotonic()
    stack.postgres.restart_crash(down_seconds=3)
    out.say(
        f"postgres crashed (pg_ctl stop -m immediate) after {len(log.accepted)} accepted batches "
        f"and back in {time.monotonic() - started:.1f} s"
    )
    for thread in threads:
        thread.join(timeout=max(1, deadline - time.monotonic()) + 60)
    close_old_connections()
    out.say(
        f"60 batches x 100 lines: {len(log.accepted)} accepted, {len(log.refused)} not; "
        f"answers {dict(sorted(log.statuses.items()))}; {log.replays} idempotent replays"
    )
    # Every batch was sent until answered (or the deadline): what is stored must be each
    # sent line exactly once, whatever the answers were.
    sent = [r for records in batches for r in records]
    comparison = sent_compare(label="pushed gl_lines vs sent", connector=connector, records=sent)
    out.say(comparison.summary())
    if log.refused:
        stuck = sorted(
            IdempotencyKey.objects.filter(
                key__in=list(log.refused), status=IdempotencyKey.Status.IN_PROGRESS
            ).values_list("key", flat=True)
        )
        stored = {
            key: GLLine.objects.filter(source=connector, external_id__startswith=f"{key}-").count()
            for key in stuck
        }
        raise ScenarioFailure(
            f"{len(log.refused)} batches never accepted: keys {stuck} stuck 'in_progress' "
            f"after the crash (409 on every retry until the key expires in 24 h); rows "
            f"stored per stuck batch {stored} (100 = the ingest had committed)"
        )
    if not comparison.ok:
        raise ScenarioFailure("stored gl_lines differ from what was sent")


# --- d. 20 racing duplicate pushes ----------------------------------------------------------------


def racing_duplicates(stack: Stack, out: Outcome) -> None:
    connector = stack.push_connector
    assert connector is not None
    key = f"race-{uuid.uuid4().hex[:8]}"
    records = gl_batch(key, 0, 50, random.Random(20))
    body = json.dumps(records).encode()
    before = reconcile.finhub_totals(connector=connector, entity="gl_lines")
    headers = {
        "Authorization": f"Bearer {stack.push_token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    barrier = threading.Barrier(20)
    answers: list[tuple[int, dict, bool]] = []
    lock = threading.Lock()

    def push():
        with httpx.Client(base_url=stack.gunicorn.url, timeout=60) as client:
            barrier.wait()
            response = client.post("/api/v1/ingest/gl_lines/", content=body, headers=headers)
            with lock:
                answers.append(
                    (
                        response.status_code,
                        response.json(),
                        "Idempotent-Replayed" in response.headers,
                    )
                )

    threads = [threading.Thread(target=push) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # A final retry after all settled must replay the stored answer.
    log = PushLog()
    final = push_with_retry(stack, body, key, log, deadline=time.monotonic() + 60)
    statuses = Counter(status for status, _, _ in answers)
    out.say(f"20 concurrent answers: {dict(sorted(statuses.items()))}")
    successes = [payload for status, payload, _ in answers if 200 <= status < 300]
    writers = [payload for status, payload, replay in answers if 200 <= status < 300 and not replay]
    others = [(s, p.get("code")) for s, p, _ in answers if not 200 <= s < 300]
    if len(writers) != 1:
        raise ScenarioFailure(f"{len(writers)} answers wrote (not replayed); expected exactly 1")
    if any(p != writers[0] for p in successes):
        raise ScenarioFailure("the 2xx answers differ from one another")
    if any(s != 409 or code != "idempotency_request_in_progress" for s, code in others):
        raise ScenarioFailure(f"unexpected refusals: {others}")
    if final is None or final.json() != writers[0] or not final.headers.get("Idempotent-Replayed"):
        raise ScenarioFailure("the retry after the race did not replay the first answer")
    out.say(
        f"1 write (batch {writers[0].get('batch_id')}, created {writers[0].get('created')}), "
        f"{len(successes) - 1} identical replays, {len(others)} x 409 in progress; "
        "the retry afterwards replayed the same answer"
    )
    after = reconcile.finhub_totals(connector=connector, entity="gl_lines")
    delta = {
        month: (
            bucket[0] - before.get(month, (0, Decimal(0)))[0],
            (bucket[1] or 0) - (before.get(month, (0, Decimal(0)))[1] or 0),
        )
        for month, bucket in after.items()
    }
    comparison = totals_compare(
        label="racing push vs sent once",
        expected=totals_of(records, date_field="posting_date", amount_field="amount"),
        actual={m: (c, a) for m, (c, a) in delta.items() if c or a},
    )
    out.say(comparison.summary())
    if not comparison.ok:
        raise ScenarioFailure("the racing pushes were not stored exactly once")


# --- e. a webhook with clock skew -----------------------------------------------------------------


def webhook_skew(stack: Stack, out: Outcome) -> None:
    connector = stack.webhook_connector
    assert connector is not None
    tag = uuid.uuid4().hex[:6]
    rng = random.Random(5)

    def deliver(event_id: str, records: list[dict], skew: int) -> httpx.Response:
        body = json.dumps({"id": event_id, "type": "gl_lines", "data": records}).encode()
        header = signature_header(
            secret=stack.webhook_secret, body=body, timestamp=int(time.time()) + skew
        )
        return httpx.post(
            f"{stack.gunicorn.url}/api/v1/webhooks/{connector.slug}/",
            content=body,
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: header},
            timeout=30,
        )

    def stored() -> tuple[int, int]:
        return (
            WebhookEvent.objects.filter(connector=connector).count(),
            sum(
                c
                for c, _ in reconcile.finhub_totals(connector=connector, entity="gl_lines").values()
            ),
        )

    accepted: list[dict] = []
    late = TOLERANCE_SECONDS + 120
    for label, skew in (("too old", -late), ("too far in the future", late)):
        before = stored()
        response = deliver(f"skew-{tag}-{label}", gl_batch(f"wh-{tag}-x", 0, 5, rng), skew)
        detail = response.json()
        if response.status_code != 401 or detail.get("code") != "bad_signature":
            raise ScenarioFailure(f"{label}: HTTP {response.status_code} {detail}")
        if "from the server's time" not in detail.get("detail", ""):
            raise ScenarioFailure(f"{label}: unclear error {detail}")
        if stored() != before:
            raise ScenarioFailure(f"{label}: something was written")
        out.say(f'{label} ({skew:+d} s): 401 bad_signature "{detail["detail"]}"; nothing written')
    for label, skew in (
        ("late within tolerance", -(TOLERANCE_SECONDS - 60)),
        ("early within tolerance", TOLERANCE_SECONDS - 60),
    ):
        records = gl_batch(f"wh-{tag}-{skew}", 0, 20, rng)
        event_id = f"ok-{tag}-{skew}"
        first = deliver(event_id, records, skew)
        replay = deliver(event_id, records, -skew)  # the sender retries with a new signature
        if first.status_code != 200 or first.json().get("duplicate") is not False:
            raise ScenarioFailure(f"{label}: HTTP {first.status_code} {first.text[:200]}")
        if replay.status_code != 200 or replay.json().get("duplicate") is not True:
            raise ScenarioFailure(f"{label} replay: HTTP {replay.status_code} {replay.text[:200]}")
        accepted.extend(records)
        out.say(
            f"{label} ({skew:+d} s): 200, {first.json()['result']['created']} created; "
            "its replay: 200 duplicate=true, nothing written"
        )
    comparison = sent_compare(
        label="webhook gl_lines vs accepted once", connector=connector, records=accepted
    )
    out.say(comparison.summary())
    if not comparison.ok:
        raise ScenarioFailure("webhook records differ from the accepted events")


# --- f. the sandbox in chaos mode -----------------------------------------------------------------

CHAOS_RULES = [
    # First: it only fires on a list page after the first, so it would rarely get its turn.
    {"fault": "duplicate_rows", "probability": 0.1},
    {"fault": "http_500", "probability": 0.03},
    {"fault": "http_503", "probability": 0.03},
    {"fault": "http_429", "probability": 0.03, "retry_after": 1},
    {"fault": "timeout", "probability": 0.01, "seconds": 7},
    {"fault": "drop", "probability": 0.02},
    {"fault": "truncate", "probability": 0.02},
    {"fault": "html", "probability": 0.01},
    {"fault": "slow", "probability": 0.05, "seconds": 0.5},
]
# What the chaos changes in the sources meanwhile: (system, resource).
CHAOS_MUTATIONS = [
    ("erp", "gl-lines"),
    ("erp", "invoices"),
    ("marketing", "touchpoints"),
    ("marketing", "spend"),
    ("crm", "deals"),
    ("billing", "subscription-events"),
    ("budget", "budget-lines"),
    ("product", "costs"),
]


def chaos(stack: Stack, out: Outcome) -> None:
    since = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rng = random.Random(3)
    stack.sandbox.faults(CHAOS_RULES)
    ends = time.monotonic() + stack.chaos_minutes * 60
    rounds = mutations = pauses = 0
    unknown = set()
    try:
        while time.monotonic() < ends:
            rounds += 1
            for system, resource in rng.sample(CHAOS_MUTATIONS, 3):
                try:
                    stack.sandbox.mutate(
                        system,
                        resource,
                        update=rng.randint(1, 30),
                        delete=rng.randint(0, 5),
                        create=rng.randint(1, 40),
                    )
                    mutations += 1
                except OSError as exc:  # e.g. a resource name this sandbox does not have
                    unknown.add(f"{system}/{resource}: {exc}")
            close_old_connections()
            busy = set(
                SyncRun.objects.filter(status__in=ACTIVE).values_list("connector_id", flat=True)
            )
            idle = [c for c in stack.connectors if c.pk not in busy]
            if idle and rounds % 3 == 0:
                # Now and then a full refresh: many pages, every one exposed to the faults.
                full = rng.choice(idle)
                runs_request([full], mode=SyncRun.Mode.FULL_REFRESH)
                idle.remove(full)
            runs_request(idle)
            worker_supervise(stack, out)
            reaper.sync_runs_reap()
            reaper.queued_runs_resend()
            time.sleep(rng.uniform(2, 6))
    finally:
        stack.sandbox.clear_faults()
    stats = stack.sandbox.stats()
    out.say(
        f"{stack.chaos_minutes:g} min of chaos: {rounds} rounds, {mutations} source mutations; "
        f"faults fired {stats.get('faults_fired')}"
    )
    if unknown:
        out.say(f"mutations refused: {sorted(unknown)[:3]}")
    supervise = lambda: worker_supervise(stack, out)  # noqa: E731
    runs_settle(timeout=300, since_pk=since, supervise=supervise)
    for connector in stack.connectors:
        connector.refresh_from_db()
        if connector.paused_at is not None:
            pauses += 1
            out.say(f"{connector.name} was paused by its circuit breaker: {connector.pause_reason}")
            connector_resume(connector)
    during = list(SyncRun.objects.filter(pk__gt=since))
    out.say(f"during chaos: {runs_line(during)}; {pauses} connectors paused (resumed)")
    last = max(r.pk for r in during) if during else since
    final = runs_request(stack.connectors)
    runs = runs_settle(timeout=300, since_pk=last, supervise=supervise)
    failed = [r for r in runs if r.status != SyncRun.Status.SUCCEEDED]
    out.say(f"final syncs after chaos: {runs_line(runs)}")
    if failed or len(runs) < len(final):
        raise ScenarioFailure(
            f"final syncs did not all succeed: {[(r.pk, r.message[:80]) for r in failed]}"
        )
    sources_equal(stack, out)


SCENARIOS: list[tuple[str, Callable[[Stack, Outcome], None]]] = [
    ("a. kill -9 a worker mid-sync", worker_killed),
    ("b. restart Redis mid-sync", redis_restarted),
    ("c. restart PostgreSQL mid-ingest", postgres_restarted),
    ("d. 20 racing duplicate pushes", racing_duplicates),
    ("e. webhook with clock skew", webhook_skew),
    ("f. sandbox in chaos mode", chaos),
]


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
