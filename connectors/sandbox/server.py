"""The sandbox source: six made-up SaaS systems over HTTP, serving the generated company.

A stdlib ``ThreadingHTTPServer``; no Django. Each system has its own prefix, auth and
pagination style (see ``SYSTEMS`` and the "Sandbox HTTP API" contract in the helper
context / connectors/sandbox/README). Lists are ordered by ``(updated_at, id)`` with an
INCLUSIVE ``updated_since``; cursors are keysets over that order, so they are stable while
records change. Deleted records stay as tombstones. ``/_sandbox`` is the unauthenticated
control API for tests and demos: faults, mutations, stats, reset.

In-process use (tests)::

    server = SandboxServer(scale=0.02, end_month=date(2026, 10, 1)).start()
    server.url            # http://127.0.0.1:<port>
    server.faults([{"fault": "http_503", "path": "/erp", "times": 2}])
    server.mutate("erp", "gl-lines", update=3, delete=1, create=2)
    server.stop()
"""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import datetime as dt
import gc
import json
import random
import secrets
import socket
import sys
import threading
import time
from collections import Counter, deque
from decimal import ROUND_HALF_UP, Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import company as company_mod
from .faults import FaultBook, FaultConfigError, Rule
from .shapes import (
    RECONCILE_FIELDS,
    RESOURCE_MAP,
    RESOURCES,
    Resource,
    corrupt,
    format_datetime,
    to_source,
)

UTC = dt.UTC
CENT = Decimal("0.01")
MICROSECOND = dt.timedelta(microseconds=1)
TOKEN_TTL = 3600
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

#: system -> (URL prefix, auth style, pagination style)
SYSTEMS: dict[str, tuple[str, str, str]] = {
    "erp": ("/erp/v1", "oauth2", "cursor"),
    "budget": ("/budget/v1", "basic", "page"),
    "crm": ("/crm/v1", "bearer", "cursor"),
    "marketing": ("/marketing/v1", "api_key", "page"),
    "billing": ("/billing/v1", "bearer", "cursor"),
    "product": ("/product/v1", "api_key", "page"),
}

#: Sandbox-only, public demo credentials (also in mappings.SANDBOX_CREDENTIALS).
CREDENTIALS: dict[str, dict[str, str]] = {
    "erp": {"client_id": "finhub", "client_secret": "sandbox-erp-secret"},
    "budget": {"username": "finhub", "password": "sandbox-budget-pass"},
    "crm": {"token": "sandbox-crm-token"},
    "marketing": {"api_key": "sandbox-marketing-key"},
    "billing": {"token": "sandbox-billing-token"},
    "product": {"api_key": "sandbox-product-key"},
}

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Service maintenance</title></head>"
    "<body><h1>We'll be right back</h1><p>The API is down for scheduled maintenance."
    "</p></body></html>"
)


class BadRequest(Exception):
    """A client error; the message is returned as JSON with status 400."""


def _parse_since(raw: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise BadRequest(f"updated_since is not an ISO 8601 date-time: {raw!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _encode_cursor(since: dt.datetime | None, key: tuple[dt.datetime, str] | None) -> str:
    payload = {
        "s": format_datetime(since) if since else None,
        "k": [format_datetime(key[0]), key[1]] if key else None,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime | None, tuple[dt.datetime, str] | None]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        since = _parse_since(payload["s"]) if payload.get("s") else None
        key = payload.get("k")
        return since, ((_parse_since(key[0]), str(key[1])) if key else None)
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error, BadRequest):
        raise BadRequest("cursor is not valid") from None


def _int_param(params: dict, name: str, default: int, minimum: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if value < minimum:
        raise BadRequest(f"{name} must be >= {minimum}")
    return min(value, maximum)


class Store:
    """One resource's records: live rows and tombstones, indexed by (updated_at, id)."""

    def __init__(self, resource: Resource, rows: list[dict]):
        self.resource = resource
        self.rows = rows  # the Company's list: kept equal to the live rows
        # id -> (updated_at, canonical row or None for a tombstone)
        self.records: dict[str, tuple[dt.datetime, dict | None]] = {
            r["external_id"]: (r["updated_at"], r) for r in rows
        }
        self.index: list[tuple[dt.datetime, str]] = sorted(
            (r["updated_at"], r["external_id"]) for r in rows
        )
        self.version = 0
        self._totals: tuple[int, dict] | None = None

    def _move(self, ext_id: str, old: dt.datetime | None, new: dt.datetime) -> None:
        if old is not None:
            pos = bisect.bisect_left(self.index, (old, ext_id))
            if pos < len(self.index) and self.index[pos] == (old, ext_id):
                del self.index[pos]
        bisect.insort(self.index, (new, ext_id))
        self.version += 1

    def put(self, row: dict) -> None:
        ext_id = row["external_id"]
        old = self.records.get(ext_id)
        self.records[ext_id] = (row["updated_at"], row)
        self._move(ext_id, old[0] if old else None, row["updated_at"])

    def delete(self, ext_id: str, when: dt.datetime) -> None:
        old_stamp, old_row = self.records[ext_id]
        self.records[ext_id] = (when, None)
        if old_row is not None:
            # by identity: rows are unique, and == on a million dicts is slow
            pos = next(i for i, r in enumerate(self.rows) if r is old_row)
            del self.rows[pos]
        self._move(ext_id, old_stamp, when)

    def live_ids(self) -> list[str]:
        return [k for k, (_, row) in self.records.items() if row is not None]

    def totals(self) -> list[dict]:
        if self._totals and self._totals[0] == self.version:
            return self._totals[1]
        date_field, amount_field = RECONCILE_FIELDS.get(self.resource.entity, (None, None))
        counts: Counter = Counter()
        sums: dict = {}
        for row in self.rows:  # the live rows; dates and date-times are UTC already
            day = row[date_field] if date_field else None
            month = (day.year, day.month) if day is not None else None
            counts[month] += 1
            if amount_field:
                value = row[amount_field]
                if value is not None:
                    sums[month] = sums.get(month, 0) + value
        counts = Counter({(f"{m[0]:04d}-{m[1]:02d}" if m else None): n for m, n in counts.items()})
        sums = {(f"{m[0]:04d}-{m[1]:02d}" if m else None): v for m, v in sums.items()}
        result = [
            {
                "month": month,
                "count": counts[month],
                "amount": str(Decimal(sums.get(month, 0)).quantize(CENT, rounding=ROUND_HALF_UP))
                if amount_field
                else None,
            }
            for month in sorted(counts, key=lambda m: m or "")
        ]
        if not result and not date_field:
            result = [{"month": None, "count": 0, "amount": "0.00" if amount_field else None}]
        self._totals = (self.version, result)
        return result


class SandboxServer:
    """The sandbox source, in a background thread (``start``/``stop``) or in the foreground."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 7,
        scale: float = 1.0,
        end_month: dt.date | None = None,
        reporting_currency: str | None = None,
        faults: list[Rule | dict] | None = None,
        log: Any = True,
        company: company_mod.Company | None = None,
    ):
        self.host = host
        self.port = port
        self.seed = seed
        self.scale = scale
        self.end_month = end_month
        self.reporting_currency = reporting_currency
        self._log_stream = sys.stderr if log is True else (log or None)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._fault_book = FaultBook(seed)
        self._initial_faults = list(faults or [])
        self._fault_book.set(self._initial_faults)
        self._tokens: dict[str, float] = {}
        self._requests: Counter[str] = Counter()
        self._recent: deque = deque(maxlen=500)
        self._invalid_ids: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._load(company)

    # --- data -----------------------------------------------------------------------------

    def _load(self, company: company_mod.Company | None = None) -> None:
        company = company or company_mod.generate(
            seed=self.seed,
            scale=self.scale,
            end_month=self.end_month,
            reporting_currency=self.reporting_currency,
        )
        gc_was_enabled = gc.isenabled()
        gc.disable()  # millions of index tuples: nothing cyclic to collect
        try:
            stores = {(r.system, r.name): Store(r, company.entities[r.entity]) for r in RESOURCES}
        finally:
            if gc_was_enabled:
                gc.enable()
        last = max(
            (s.index[-1][0] for s in stores.values() if s.index),
            default=dt.datetime.now(UTC),
        )
        with self._lock:
            self.company = company
            self._stores = stores
            self._last_stamp = last
            self._mutations = 0
            self._mutate_rng = random.Random(f"{self.seed}-mutate")

    def _now(self) -> dt.datetime:
        """Sandbox "now": never earlier than any stamp handed out, so changes are newest."""
        with self._lock:
            now = max(dt.datetime.now(UTC), self._last_stamp + MICROSECOND)
            self._last_stamp = now
            return now

    def store(self, system: str, resource: str) -> Store:
        try:
            return self._stores[(system, resource)]
        except KeyError:
            raise KeyError(f"no resource {resource!r} in system {system!r}") from None

    def live_rows(self, system: str, resource: str) -> list[dict]:
        """The canonical rows the source currently holds (deleted ones excluded)."""
        with self._lock:
            return list(self.store(system, resource).rows)

    def control_totals(self, system: str, resource: str) -> list[dict]:
        with self._lock:
            return self.store(system, resource).totals()

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def server(self) -> SandboxServer:
        """The fixture object and the server are one (``sandbox.server.faults(...)``)."""
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def base_url(self, system: str) -> str:
        return self.url + SYSTEMS[system][0]

    def _make_httpd(self) -> ThreadingHTTPServer:
        handler = type("Handler", (_Handler,), {"sandbox": self})
        httpd = _HTTPServer((self.host, self.port), handler)
        self.port = httpd.server_address[1]
        return httpd

    def start(self) -> SandboxServer:
        """Serve in a background thread (port 0 picks a free port; see ``url``)."""
        self._stopping.clear()
        self._httpd = self._make_httpd()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd = self._make_httpd()
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        self._stopping.set()  # wakes sleeping slow/timeout responses
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- control --------------------------------------------------------------------------

    def faults(self, rules: list[Rule | dict]) -> list[dict]:
        """Replace the fault rules (see faults.py); returns them as dicts."""
        return [r.as_dict() for r in self._fault_book.set(list(rules))]

    def clear_faults(self) -> None:
        self._fault_book.clear()

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests": dict(self._requests),
                "requests_total": sum(self._requests.values()),
                "faults_fired": dict(self._fault_book.fired),
                "rules": self._fault_book.rules(),
                "recent": list(self._recent),
                "invalid_row_ids": list(self._invalid_ids),
            }

    def reset(self) -> None:
        """Regenerate the company from the seed; clear faults, stats and tokens."""
        self._fault_book.reset()
        self._load()
        with self._lock:
            self._requests.clear()
            self._recent.clear()
            self._invalid_ids.clear()
            self._tokens.clear()

    def expire_tokens(self) -> None:
        """Forget issued OAuth2 tokens (the next call with one gets 401)."""
        with self._lock:
            self._tokens.clear()

    def mutate(
        self,
        system: str,
        resource: str,
        *,
        update: int = 0,
        delete: int = 0,
        create: int = 0,
        update_ids: list[str] | tuple = (),
        delete_ids: list[str] | tuple = (),
    ) -> dict[str, list[str]]:
        """Change records like a user of the source would; stamps are newer than all else.

        ``update`` random live records get a new amount (or name), ``delete`` become
        tombstones, ``create`` new ones are cloned from live records with new ids;
        ``update_ids`` / ``delete_ids`` name specific records.
        """
        with self._lock:
            store = self.store(system, resource)
            rng = self._mutate_rng
            live = sorted(store.live_ids())
            for ext_id in (*update_ids, *delete_ids):
                if ext_id not in live:
                    raise KeyError(f"no live record {ext_id!r} in {system}/{resource}")
            to_update = list(update_ids)
            to_delete = list(delete_ids)
            pool = [i for i in live if i not in set(to_update) | set(to_delete)]
            chosen = rng.sample(pool, min(len(pool), update + delete))
            to_update += chosen[:update]
            to_delete += chosen[update:]
            for ext_id in to_update:
                row = store.records[ext_id][1]
                _change(store.resource.entity, row, rng)
                row["updated_at"] = self._now()
                store.put(row)
            for ext_id in to_delete:
                store.delete(ext_id, self._now())
            created = []
            for _ in range(create):
                live_now = store.rows
                if not live_now:
                    break
                template = live_now[rng.randrange(len(live_now))]
                self._mutations += 1
                row = dict(template)
                row["external_id"] = (
                    f"{template['external_id'].split('-')[0]}-NEW{self._mutations:06d}"
                )
                if store.resource.entity == "budgets":
                    taken = {
                        r["version"] for r in live_now if r["fiscal_year"] == row["fiscal_year"]
                    }
                    row["version"] = max(taken) + 1
                    row["is_current"] = False
                _change(store.resource.entity, row, rng)
                row["updated_at"] = self._now()
                store.rows.append(row)
                store.put(row)
                created.append(row["external_id"])
            return {"updated": to_update, "deleted": to_delete, "created": created}

    # --- serving --------------------------------------------------------------------------

    def _log(self, line: str) -> None:
        if self._log_stream is not None:
            try:
                self._log_stream.write(line + "\n")
                self._log_stream.flush()
            except (OSError, ValueError):
                pass

    def _count(self, path: str, fault: str | None) -> None:
        with self._lock:
            self._requests[path] += 1
            self._recent.append({"path": path, "fault": fault})

    def check_auth(self, system: str, headers) -> bool:
        creds = CREDENTIALS[system]
        style = SYSTEMS[system][1]
        auth = headers.get("Authorization", "")
        if style == "oauth2":
            token = auth[7:] if auth.startswith("Bearer ") else ""
            with self._lock:
                expires = self._tokens.get(token)
            return expires is not None and expires > time.monotonic()
        if style == "bearer":
            return secrets.compare_digest(auth, f"Bearer {creds['token']}")
        if style == "basic":
            expected = base64.b64encode(
                f"{creds['username']}:{creds['password']}".encode()
            ).decode()
            return secrets.compare_digest(auth, f"Basic {expected}")
        return secrets.compare_digest(headers.get("X-Api-Key", ""), creds["api_key"])

    def issue_token(self, form: dict[str, str], auth_header: str) -> str | None:
        creds = CREDENTIALS["erp"]
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if auth_header.startswith("Basic "):  # RFC 6749 also allows HTTP basic
            try:
                decoded = base64.b64decode(auth_header[6:]).decode()
                client_id, _, client_secret = decoded.partition(":")
            except (ValueError, binascii.Error):
                return None
        if form.get("grant_type") != "client_credentials":
            return None
        if not (
            secrets.compare_digest(client_id, creds["client_id"])
            and secrets.compare_digest(client_secret, creds["client_secret"])
        ):
            return None
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + TOKEN_TTL
        return token

    def list_page(
        self, system: str, resource: str, params: dict[str, str], fault: str | None, rule
    ) -> dict:
        """One page of a list endpoint, with the list-shaped faults applied."""
        pagination = SYSTEMS[system][2]
        with self._lock:
            store = self.store(system, resource)
            index = store.index
            if pagination == "cursor":
                limit = _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
                cursor = params.get("cursor")
                if cursor:
                    since, key = _decode_cursor(cursor)
                else:
                    since = (
                        _parse_since(params["updated_since"])
                        if params.get("updated_since")
                        else None
                    )
                    key = None
                if key is not None:
                    start = bisect.bisect_right(index, key)
                elif since is not None:
                    start = bisect.bisect_left(index, (since, ""))
                else:
                    start = 0
                keys = index[start : start + limit]
                more = start + limit < len(index)
                if fault == "stuck_cursor":
                    next_cursor = cursor or _encode_cursor(since, None)
                else:
                    next_cursor = _encode_cursor(since, keys[-1]) if keys and more else None
                extra_first = None
                if fault == "duplicate_rows" and start > 0:
                    extra_first = index[start - 1]
                data = self._render(store, keys, extra_first, fault, rule)
                return {"data": data, "next_cursor": next_cursor}
            per_page = _int_param(
                params, "per_page", _int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT), 1,
                MAX_LIMIT,
            )  # fmt: skip
            page = _int_param(params, "page", 1, 1, 10**9)
            since = _parse_since(params["updated_since"]) if params.get("updated_since") else None
            lo = bisect.bisect_left(index, (since, "")) if since is not None else 0
            total = len(index) - lo
            total_pages = max(1, -(-total // per_page))
            served = page - 1 if fault == "stuck_cursor" and page > 1 else page
            begin = lo + (served - 1) * per_page
            keys = index[begin : min(begin + per_page, len(index))] if served <= total_pages else []
            extra_first = index[begin - 1] if fault == "duplicate_rows" and begin > lo else None
            data = self._render(store, keys, extra_first, fault, rule)
            return {
                "items": data,
                "page": served,
                "per_page": per_page,
                "total_pages": total_pages,
                "total": total,
            }

    def _render(self, store: Store, keys, extra_first, fault, rule) -> list[dict]:
        res = store.resource
        out = []
        if extra_first is not None:
            keys = [extra_first, *keys]
        for stamp, ext_id in keys:
            row = store.records[ext_id][1]
            if row is None:
                out.append({"id": ext_id, "updated_at": format_datetime(stamp), "deleted": True})
            else:
                out.append(to_source(res, row))
        if fault == "invalid_rows":
            broken = 0
            for i, record in enumerate(out):
                if broken >= rule.rows:
                    break
                if record.get("deleted"):
                    continue
                out[i] = corrupt(res, record)
                self._invalid_ids.append(record["id"])
                broken += 1
        return out


def _change(entity: str, row: dict, rng: random.Random) -> None:
    """Give a record a new value, keeping it valid."""
    if entity == "initiative_costs" and row.get("kind") == "time":
        row["hours"] = (row["hours"] + 1).quantize(CENT)
        row["amount"] = (row["hours"] * row["hourly_rate"]).quantize(CENT, rounding=ROUND_HALF_UP)
        return
    if entity == "fx_rates":
        row["rate"] = (row["rate"] * Decimal("1.01")).quantize(Decimal("0.000001"))
        return
    for name in ("amount", "mrr_after", "planned_budget"):
        value = row.get(name)
        if isinstance(value, Decimal) and value != 0:
            factor = Decimal(rng.randint(50, 150)) / 100
            new = (value * factor).quantize(CENT, rounding=ROUND_HALF_UP)
            row[name] = new if new != value else value + CENT
            return
    for name in ("name", "description"):
        if name in row:
            base = (row[name] or "").split(" (rev ")[0][:150]
            row[name] = f"{base} (rev {rng.randint(2, 999)})"
            return


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    sandbox: SandboxServer  # set on the subclass made per server
    protocol_version = "HTTP/1.1"
    server_version = "FinHubSandbox/1.0"

    # one log line per request is written by _finish; silence the default one
    def log_message(self, format, *args):
        pass

    def handle(self):
        with contextlib.suppress(
            BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError
        ):
            super().handle()

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- plumbing -------------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self._status = status

    def _json(self, status: int, payload: Any, headers: dict | None = None, *, cut=False):
        body = json.dumps(payload, separators=(",", ":")).encode()
        if cut:
            body = body[: max(1, len(body) // 2)]
        self._send(status, body, "application/json", headers)

    def _error(self, status: int, message: str, headers: dict | None = None):
        self._json(status, {"error": HTTPStatus(status).phrase, "detail": message}, headers)

    def _dispatch(self, method: str):
        started = time.monotonic()
        self._status = 0
        sb = self.sandbox
        split = urlsplit(self.path)
        path = split.path.rstrip("/") or "/"
        params = {k: v[-1] for k, v in parse_qs(split.query).items()}
        body = self._body() if method in ("POST", "DELETE") else b""
        fault_kind = None
        try:
            if path.startswith("/_sandbox"):
                self._control(method, path, body)
            else:
                route = self._route(method, path)
                is_list = route is not None and route[0] == "list"
                pagination = SYSTEMS[route[1]][2] if route else None
                has_prev = (
                    bool(params.get("cursor"))
                    if pagination == "cursor"
                    else (_safe_int(params.get("page")) > 1)
                )
                can_stick = pagination == "cursor" or _safe_int(params.get("page")) > 1
                fired = sb._fault_book.pick(
                    path, is_list=is_list, has_previous_page=has_prev, can_stick=can_stick
                )
                fault_kind = fired.kind if fired else None
                sb._count(path, fault_kind)
                if fired and self._pre_fault(fired):
                    return
                self._serve(method, path, route, params, body, fired)
        except BadRequest as exc:
            self._error(400, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            self._status = 0
        except Exception as exc:
            self._error(500, f"sandbox error: {type(exc).__name__}: {exc}")
        finally:
            ms = (time.monotonic() - started) * 1000
            sb._log(
                f"sandbox {method} {self.path} {self._status or 'dropped'} "
                f"fault={fault_kind or '-'} {ms:.0f}ms"
            )

    def _pre_fault(self, fired) -> bool:
        """Faults answered before (or instead of) the real response; True when handled."""
        kind, rule = fired.kind, fired.rule
        if kind in ("slow", "timeout"):
            self.sandbox._stopping.wait(rule.delay)
            return False
        if kind == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if kind == "http_500":
            self._error(500, "Internal server error (injected)")
            return True
        if kind == "http_503":
            self._error(503, "Service unavailable (injected)")
            return True
        if kind == "http_429":
            self._error(429, "Too many requests (injected)", {"Retry-After": str(rule.retry_after)})
            return True
        if kind == "unauthorized":
            self._error(401, "Unauthorized (injected)")
            return True
        if kind == "html":
            self._send(200, HTML_PAGE.encode(), "text/html; charset=utf-8")
            return True
        return False

    def _route(self, method: str, path: str):
        """("list"|"totals"|"token", system, resource) or None."""
        if path == "/erp/oauth/token":
            return ("token", "erp", None)
        for system, (prefix, _auth, _pag) in SYSTEMS.items():
            if path.startswith(prefix + "/"):
                resource = path[len(prefix) + 1 :]
                if resource == "control-totals":
                    return ("totals", system, None)
                if (system, resource) in RESOURCE_MAP:
                    return ("list", system, resource)
                return ("unknown", system, resource)
        return None

    def _serve(self, method, path, route, params, body, fired):
        sb = self.sandbox
        fault = fired.kind if fired else None
        cut = fault == "truncate"
        if route is None:
            self._error(404, f"No such path: {path}")
            return
        kind, system, resource = route
        if kind == "token":
            if method != "POST":
                self._error(405, "Use POST")
                return
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            token = sb.issue_token(form, self.headers.get("Authorization", ""))
            if token is None:
                self._json(401, {"error": "invalid_client"})
                return
            self._json(
                200,
                {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL},
                cut=cut,
            )
            return
        if method != "GET":
            self._error(405, "Use GET")
            return
        if not sb.check_auth(system, self.headers):
            self._error(401, "Missing or invalid credentials")
            return
        if kind == "unknown":
            self._error(404, f"No resource {resource!r} in {system}")
            return
        if kind == "totals":
            name = params.get("resource", "")
            if (system, name) not in RESOURCE_MAP:
                raise BadRequest(f"resource must name a resource of {system}")
            self._json(200, {"resource": name, "totals": sb.control_totals(system, name)}, cut=cut)
            return
        payload = sb.list_page(system, resource, params, fault, fired.rule if fired else None)
        self._json(200, payload, cut=cut)

    def _control(self, method: str, path: str, body: bytes):
        sb = self.sandbox
        sb._count(path, None)
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            raise BadRequest("body is not JSON") from None
        if path == "/_sandbox/faults":
            if method == "DELETE":
                sb.clear_faults()
                self._json(200, {"rules": []})
            elif method == "POST":
                try:
                    rules = sb.faults(data.get("rules") or [])
                except FaultConfigError as exc:
                    raise BadRequest(str(exc)) from None
                self._json(200, {"rules": rules})
            else:
                self._json(200, {"rules": sb._fault_book.rules()})
        elif path == "/_sandbox/mutate" and method == "POST":
            try:
                result = sb.mutate(
                    data.get("system", ""),
                    data.get("resource", ""),
                    update=int(data.get("update") or 0),
                    delete=int(data.get("delete") or 0),
                    create=int(data.get("create") or 0),
                    update_ids=data.get("update_ids") or (),
                    delete_ids=data.get("delete_ids") or (),
                )
            except (KeyError, ValueError, TypeError) as exc:
                raise BadRequest(str(exc)) from None
            self._json(200, result)
        elif path == "/_sandbox/stats" and method == "GET":
            self._json(200, sb.stats())
        elif path == "/_sandbox/reset" and method == "POST":
            sb.reset()
            self._json(200, {"reset": True})
        elif path == "/_sandbox" and method == "GET":
            self._json(
                200,
                {
                    "systems": {
                        s: {"prefix": p, "auth": a, "pagination": g}
                        for s, (p, a, g) in SYSTEMS.items()
                    },
                    "counts": sb.company.counts(),
                },
            )
        else:
            self._error(404, f"No such control endpoint: {method} {path}")


def _safe_int(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 1
