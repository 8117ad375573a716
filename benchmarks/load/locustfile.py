"""What locust runs for ``make load-test``: four kinds of simulated clients, weighted 4:3:2:1.

- a finance viewer who logs in through the login form and opens the dashboards over a few
  periods;
- an integration reading the metrics API with a read token;
- an integration pushing 20 new ledger lines at a time with a write token;
- a source system delivering signed webhook events of 5 new ledger lines.

Requests are named ``<path>`` (locust adds the method), one name per endpoint whatever the
query, so the statistics group per endpoint. The load_test command writes the run's tokens,
secret, login and pages to a JSON file and passes its path in ``FINHUB_LOAD_TEST_CONFIG``.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import random
from typing import Any

from locust import HttpUser, between, task

from benchmarks.load.payloads import PreparedRequest, ingest_push, webhook_delivery

CONFIG_ENV = "FINHUB_LOAD_TEST_CONFIG"


@functools.cache
def config() -> dict[str, Any]:
    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise RuntimeError(f"{CONFIG_ENV} is not set: run `make load-test`, not locust directly")
    with open(path) as f:
        return json.load(f)


class _Client(HttpUser):
    abstract = True
    wait_time = between(1, 3)

    def send(self, prepared: PreparedRequest, check) -> None:
        with self.client.request(
            prepared.method,
            prepared.path,
            data=prepared.body,
            headers=prepared.headers,
            name=prepared.name,
            catch_response=True,
        ) as response:
            problem = check(response)
            if problem:
                response.failure(f"HTTP {response.status_code}: {problem}: {response.text[:200]}")
            else:
                response.success()


class DashboardViewer(_Client):
    """A finance viewer: logs in once, then opens dashboard pages."""

    weight = 4

    def on_start(self) -> None:
        login = config()["viewer"]
        self.client.get("/accounts/login/", name="/accounts/login/")
        token = self.client.cookies.get("csrftoken", "")
        with self.client.post(
            "/accounts/login/",
            data={
                "username": login["username"],
                "password": login["password"],
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": f"{self.host}/accounts/login/"},
            allow_redirects=False,
            name="/accounts/login/",
            catch_response=True,
        ) as response:
            if response.status_code != 302 or "login" in response.headers.get("Location", ""):
                response.failure(f"login refused: HTTP {response.status_code}")

    @task
    def dashboard(self) -> None:
        path = random.choice(config()["pages"])
        query = random.choice(config()["periods"])
        with self.client.get(
            path, params=query, name=path, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")


class MetricsReader(_Client):
    """An integration reading computed metrics (default period) with a read token."""

    weight = 3

    def on_start(self) -> None:
        self.token = random.choice(config()["read_tokens"])

    @task
    def metric(self) -> None:
        path = random.choice(config()["metric_paths"])
        with self.client.get(
            path,
            headers={"Authorization": f"Bearer {self.token}"},
            name=path,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")


def _posting_date() -> dt.date:
    return dt.date.fromisoformat(config()["posting_date"])


class IngestPusher(_Client):
    """An integration pushing 20 new ledger lines per request."""

    weight = 2

    def on_start(self) -> None:
        self.token = random.choice(config()["push"]["tokens"])

    @task
    def push(self) -> None:
        push = config()["push"]
        prepared = ingest_push(
            token=self.token,
            accounts=push["accounts"],
            departments=push["departments"],
            posting_date=_posting_date(),
            lines=push["lines"],
        )

        def check(response) -> str:
            if response.status_code != 201:
                return "expected 201"
            created = response.json().get("created")
            return "" if created == push["lines"] else f"created {created}"

        self.send(prepared, check)


class WebhookSender(_Client):
    """A source system delivering signed events of 5 new ledger lines."""

    weight = 1

    @task
    def deliver(self) -> None:
        hook = config()["webhook"]
        prepared = webhook_delivery(
            slug=hook["slug"],
            secret=hook["secret"],
            accounts=hook["accounts"],
            departments=hook["departments"],
            posting_date=_posting_date(),
            lines=hook["lines"],
        )

        def check(response) -> str:
            if response.status_code != 200:
                return "expected 200"
            body = response.json()
            if body.get("duplicate") or (body.get("result") or {}).get("created") != hook["lines"]:
                return "not applied as new"
            return ""

        self.send(prepared, check)
