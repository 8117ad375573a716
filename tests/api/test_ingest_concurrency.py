"""Concurrent pushes on real PostgreSQL (#17): threads, each with its own connection.

- Accounts in one request and GL lines naming them in another, racing with randomised
  interleavings: every reference ends resolved.
- 20 overlapping pushes of GL lines drawn in random order from one id pool, with accounts
  arriving meanwhile: no 500 (no deadlock reaches the client), no duplicate, the stored
  amounts sum exactly to the cent, every reference resolved.
"""

import os
import random
import threading
import time
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.db.models import F, Sum
from django.test import Client

from records.ingestion import upsert
from records.ingestion.entities import ENTITY_NAMES
from records.models import Account, GLLine
from tests.connectors.helpers import make_token, post_json, reset_throttles

pytestmark = [
    pytest.mark.services,
    # serialized_rollback: a transactional test flushes the tables, the currencies seeded by
    # a migration included; the rollback restores them for the next test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Printed in every failure; FINHUB_RACE_SEED=<seed> replays the same interleavings' delays.
SEED = int(os.environ.get("FINHUB_RACE_SEED") or random.randrange(10**6))


def account(ext: str) -> dict:
    return {"external_id": ext, "code": ext[:50], "name": f"Account {ext}", "type": "expense"}


def line(ext: str, account_ext: str, amount: Decimal) -> dict:
    return {
        "external_id": ext,
        "account": account_ext,
        "posting_date": "2026-01-15",
        "amount": str(amount),
        "currency": "EUR",
    }


def run_all(jobs) -> list:
    """Run ``jobs`` (callables) at once, each in a thread with its own connection."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def go(position, job):
        try:
            barrier.wait()
            results[position] = job()
        except BaseException as exc:  # reported by the assertions below
            results[position] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def pusher(url: str, token: str, records: list, rng: random.Random, pause: float):
    def push():
        time.sleep(rng.uniform(0, pause))
        client = Client(raise_request_exception=False)
        return post_json(client, url, records, token=token)

    return push


def slow_lookups(rng: random.Random, pause: float):
    """Widen the window between a request's reference lookup and its commit, by a random
    amount per request: the interleavings differ from run to run (and round to round)."""
    real = upsert._lookup
    lock = threading.Lock()

    def lookup(*args, **kwargs):
        found = real(*args, **kwargs)
        with lock:
            delay = rng.uniform(0, pause)
        time.sleep(delay)
        return found

    return mock.patch.object(upsert, "_lookup", side_effect=lookup)


def test_references_race_with_their_targets_and_always_end_resolved():
    rng = random.Random(SEED)
    _, token = make_token(entities=ENTITY_NAMES)
    rounds, per_round = 12, 150
    with slow_lookups(rng, 0.05):
        for i in range(rounds):
            reset_throttles()
            accounts = [account(f"X-{i}-{j}") for j in range(per_round)]
            lines = [line(f"L-{i}-{j}", f"X-{i}-{j}", Decimal("1.00")) for j in range(per_round)]
            rng.shuffle(accounts)
            rng.shuffle(lines)
            jobs = [
                pusher("/api/v1/ingest/accounts/", token, accounts, rng, 0.03),
                pusher("/api/v1/ingest/gl_lines/", token, lines, rng, 0.03),
            ]
            if rng.random() < 0.5:
                jobs.reverse()
            for response in run_all(jobs):
                assert not isinstance(response, BaseException), f"seed {SEED}: {response!r}"
                assert response.status_code in (200, 201), (SEED, response.content[:300])

    assert GLLine.objects.count() == rounds * per_round
    pending = GLLine.objects.filter(account__isnull=True).count()
    assert pending == 0, f"seed {SEED}: {pending} lines still pending"
    wrong = GLLine.objects.exclude(account__external_id=F("account_external_id")).count()
    assert wrong == 0


def test_twenty_overlapping_pushes_never_500_and_sum_exactly():
    rng = random.Random(SEED)
    _, token = make_token(entities=ENTITY_NAMES)
    pool = [f"gl-{n:05d}" for n in range(2000)]
    accounts = [f"A-{n % 50}" for n in range(2000)]
    # A fixed amount per id (cents included): whichever push writes a line last, it stores
    # this amount, so the total is known exactly.
    amounts = {ext: Decimal(rng.randrange(-(10**7), 10**7)) / 100 for ext in pool}
    jobs, pushed = [], set()
    for _ in range(20):
        chosen = rng.sample(range(len(pool)), 800)  # random order, overlapping the others
        records = [line(pool[n], accounts[n], amounts[pool[n]]) for n in chosen]
        pushed.update(r["external_id"] for r in records)
        jobs.append(pusher("/api/v1/ingest/gl_lines/", token, records, rng, 0.05))
    # The accounts arrive meanwhile: resolving the waiting lines locks them too.
    for part in range(2):
        batch = [account(f"A-{n}") for n in range(part, 50, 2)]
        jobs.append(pusher("/api/v1/ingest/accounts/", token, batch, rng, 0.2))

    reset_throttles()
    responses = run_all(jobs)

    statuses = [r if isinstance(r, BaseException) else r.status_code for r in responses]
    assert all(s in (200, 201) for s in statuses), (SEED, statuses)
    stored = list(GLLine.objects.values_list("external_id", flat=True))
    assert len(stored) == len(set(stored)) == len(pushed)  # each pushed line once
    assert set(stored) == pushed
    assert GLLine.objects.aggregate(total=Sum("amount"))["total"] == sum(
        amounts[ext] for ext in pushed
    )
    assert Account.objects.count() == 50
    assert GLLine.objects.filter(account__isnull=True).count() == 0, SEED
