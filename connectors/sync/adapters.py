"""One interface to read a source, whatever its transport and pagination.

``adapter.pages(resource, updated_since=…, page_size=…)`` yields ``Page`` objects: the raw
records of one page plus the position reached, which the engine saves with the page's rows
in one transaction. ``page.after_commit`` (if any) runs once that transaction committed
(a file drop moves the file it read into ``processed/`` only then).

- ``CursorAdapter``: ``{"data": [...], "next_cursor": "..."|null}``
- ``PageAdapter``: ``{"items": [...], "page": p, "total_pages": t}``
- ``FileDropAdapter``: ``<drop_path>/<resource>/*.ndjson`` and ``*.csv`` in name order
- ``PushOnlyAdapter``: the source pushes; pulling is an error

A source whose "next page" does not advance (same cursor, same page number, the same page
twice) raises StuckPaginationError instead of looping forever.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone

from connectors.models import Connector
from records.ingestion.rejects import Reject

from .errors import ConfigError, SourceError, StuckPaginationError
from .http import SourceClient

DEFAULT_PAGE_SIZE = 500
FILE_SUFFIXES = (".ndjson", ".csv")
PROCESSED_DIR = "processed"


@dataclass
class Page:
    records: list[Any]
    # Where reading stands after this page (saved in SyncState.cursor for the record).
    position: dict = field(default_factory=dict)
    # Records the adapter could not even parse (a malformed line of a file).
    rejects: list[Reject] = field(default_factory=list)
    after_commit: Callable[[], None] | None = None
    label: str = ""  # "page 3", "cursor …", "file x.ndjson": for messages


@dataclass(frozen=True)
class ProbeResult:
    status_code: int | None
    message: str


def page_fingerprint(records: list) -> str:
    """Identity of a page's content: two consecutive pages with the same one are one page
    served twice."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(json.dumps(record, sort_keys=True, default=str).encode())
    return digest.hexdigest()


class Adapter:
    """Reads one connector's resources page by page."""

    # A read without ``updated_since`` lists every live record, so a full refresh may
    # soft-delete what it did not see. (A file drop only ever delivers changes.)
    lists_everything = True
    # The source serves control totals for reconciliation.
    has_control_totals = False
    # The source filters by ``updated_since`` (incremental reads by high-water mark).
    supports_updated_since = False
    # Records changing during a read move other records between pages (offset pages): the
    # engine then only trusts a complete walk (``Page.position["next_page"]`` 0) and sets
    # the mark no later than the walk's start.
    pages_shift_on_change = False

    def __init__(self, connector: Connector, client: SourceClient | None = None):
        self.connector = connector
        self.client = client

    def pages(
        self, resource: str, *, updated_since: str | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[Page]:
        raise NotImplementedError

    def control_totals(self, resource: str) -> list[dict]:
        raise SourceError("This source serves no control totals.")

    def probe(self, resource: str) -> ProbeResult:
        """Read the first record of ``resource`` once (no retries): the connection test."""
        raise NotImplementedError


class RestAdapter(Adapter):
    has_control_totals = True
    supports_updated_since = True
    items_key = "data"

    def _client(self) -> SourceClient:
        if self.client is None:
            raise ConfigError("A REST adapter needs an HTTP client.")
        return self.client

    def _items(self, resource: str, body: Any) -> list:
        items = body.get(self.items_key) if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise SourceError(
                f"GET {resource}: the response has no {self.items_key!r} list "
                f"(got {type(body).__name__})."
            )
        return items

    def control_totals(self, resource: str) -> list[dict]:
        body = self._client().get_json("control-totals", {"resource": resource})
        totals = body.get("totals") if isinstance(body, dict) else None
        if not isinstance(totals, list) or not all(isinstance(t, dict) for t in totals):
            raise SourceError(f"GET control-totals?resource={resource}: no 'totals' list.")
        return totals

    def probe(self, resource: str) -> ProbeResult:
        body = self._client().get_json(resource, self._probe_params(), retries=False)
        count = len(self._items(resource, body))
        return ProbeResult(200, f"Read {count} record{'s' if count != 1 else ''} of {resource}.")

    def _probe_params(self) -> dict:
        return {"limit": 1}


class CursorAdapter(RestAdapter):
    """``GET {resource}?updated_since=…&limit=n&cursor=…`` -> ``{"data", "next_cursor"}``."""

    items_key = "data"

    def pages(self, resource, *, updated_since=None, page_size=DEFAULT_PAGE_SIZE):
        client = self._client()
        base = {"limit": page_size}
        if updated_since:
            base["updated_since"] = updated_since
        cursor: str | None = None
        used: set[str] = set()
        previous: str | None = None
        number = 0
        while True:
            number += 1
            params = {**base, **({"cursor": cursor} if cursor else {})}
            body = client.get_json(resource, params)
            items = self._items(resource, body)
            next_cursor = body.get("next_cursor")
            if next_cursor is not None and not isinstance(next_cursor, str):
                raise SourceError(f"GET {resource}: next_cursor is not a string or null.")
            fingerprint = page_fingerprint(items) if items else None
            if next_cursor and (next_cursor == cursor or next_cursor in used):
                raise StuckPaginationError(
                    f"{resource}: the source's next cursor does not advance (page {number} "
                    f"returned cursor {next_cursor[:40]!r} again); the run was aborted."
                )
            if fingerprint is not None and fingerprint == previous:
                raise StuckPaginationError(
                    f"{resource}: the source returned the same page twice (page {number}); "
                    "the run was aborted."
                )
            yield Page(items, position={"cursor": next_cursor}, label=f"page {number}")
            if not next_cursor:
                return
            if cursor:
                used.add(cursor)
            cursor, previous = next_cursor, fingerprint


class PageAdapter(RestAdapter):
    """``GET {resource}?updated_since=…&page=p&per_page=n`` -> ``{"items", "page",
    "total_pages"}``.

    Offset pages shift when records change during the read: a changed record leaves its
    place for the end of the list (rows are ordered by updated_at), and every record after
    its old place moves one place forward. Read front to back, the record moved onto an
    already-read page is never served. So the walk goes BACK to front: page 1 tells how many
    pages there are, then pages ``total..1``. A record that has not changed only ever moves
    forward, into pages still to read, so every record unchanged during the walk is read
    (some twice, harmlessly); one changed during it may be missed, but its new updated_at is
    after the walk started, where the engine puts the next run's mark (engine.py).
    ``start_page`` resumes a walk that stopped (same ``updated_since`` and page size): the
    same argument holds however long it paused.
    """

    items_key = "items"
    pages_shift_on_change = True

    def _probe_params(self) -> dict:
        return {"page": 1, "per_page": 1}

    def pages(self, resource, *, updated_since=None, page_size=DEFAULT_PAGE_SIZE, start_page=None):
        client = self._client()
        base = {"per_page": page_size}
        if updated_since:
            base["updated_since"] = updated_since
        if start_page is None:
            items, total = self._page(client, resource, base, 1)
            if total <= 1 or not items:
                yield self._as_page(items, 1, total)
                return
            start_page = total  # page 1 is read again last: its records may move meanwhile
        previous: str | None = None
        for page in range(start_page, 0, -1):
            items, total = self._page(client, resource, base, page)
            fingerprint = page_fingerprint(items) if items else None
            if fingerprint is not None and fingerprint == previous:
                raise StuckPaginationError(
                    f"{resource}: the source returned the same page twice (pages {page + 1} "
                    f"and {page}); the run was aborted."
                )
            yield self._as_page(items, page, total)
            previous = fingerprint

    def _page(self, client: SourceClient, resource: str, base: dict, page: int):
        body = client.get_json(resource, {**base, "page": page})
        items = self._items(resource, body)
        served, total = body.get("page"), body.get("total_pages")
        if not isinstance(total, int) or isinstance(total, bool):
            raise SourceError(f"GET {resource}: total_pages is not an integer.")
        if served is not None and served != page:
            raise StuckPaginationError(
                f"{resource}: asked for page {page}, the source answered page {served}; "
                "the run was aborted."
            )
        return items, total

    @staticmethod
    def _as_page(items: list, page: int, total: int) -> Page:
        # next_page 0: the walk is complete once this page is committed.
        position = {"page": page, "total_pages": total, "next_page": page - 1}
        return Page(items, position=position, label=f"page {page}")


class FileDropAdapter(Adapter):
    """Files dropped in ``<drop_path>/<resource>/``: ``*.ndjson`` (one JSON object a line)
    and ``*.csv`` (a header row), read in name order. A file is moved into ``processed/``
    once its last page committed; a crash before that reads it again (harmless: rows are
    upserted by external id)."""

    lists_everything = False

    def _folder(self, resource: str) -> Path:
        if not self.connector.drop_path:
            raise ConfigError(f"Connector {self.connector.name!r} has no drop folder.")
        root = Path(self.connector.drop_path)
        if not root.is_dir():
            raise ConfigError(f"The drop folder {str(root)!r} does not exist.")
        return root / resource

    def files(self, resource: str) -> list[Path]:
        folder = self._folder(resource)
        if not folder.is_dir():
            return []
        return sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FILE_SUFFIXES
        )

    def pages(self, resource, *, updated_since=None, page_size=DEFAULT_PAGE_SIZE):
        for path in self.files(resource):
            records, rejects = read_file(path)
            chunks = [records[i : i + page_size] for i in range(0, len(records), page_size)]
            chunks = chunks or [[]]
            for number, chunk in enumerate(chunks, start=1):
                last = number == len(chunks)
                yield Page(
                    chunk,
                    position={"file": path.name, "part": number},
                    rejects=rejects if number == 1 else [],
                    after_commit=(lambda p=path: move_processed(p)) if last else None,
                    label=f"file {path.name}" + (f" part {number}" if len(chunks) > 1 else ""),
                )

    def probe(self, resource: str) -> ProbeResult:
        waiting = len(self.files(resource))
        return ProbeResult(None, f"Drop folder readable; {waiting} file(s) waiting in {resource}/.")


class PushOnlyAdapter(Adapter):
    lists_everything = False

    def pages(self, resource, *, updated_since=None, page_size=DEFAULT_PAGE_SIZE):
        raise ConfigError("push-only connector: nothing to pull")

    def probe(self, resource: str) -> ProbeResult:
        raise ConfigError("push-only connector: nothing to pull")


# --- files ---------------------------------------------------------------------------------


def read_file(path: Path) -> tuple[list[Any], list[Reject]]:
    if path.suffix.lower() == ".csv":
        return read_csv(path.read_text(encoding="utf-8-sig")), []
    return read_ndjson(path.read_text(encoding="utf-8-sig"), name=path.name)


def read_ndjson(text: str, *, name: str = "") -> tuple[list[Any], list[Reject]]:
    """Records of an NDJSON text; a line that is not JSON becomes a Reject naming its
    line number and the parse error, and the other lines still load."""
    records: list[Any] = []
    rejects: list[Reject] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line, parse_float=Decimal))
        except ValueError as exc:
            where = f"{name} line {number}" if name else f"Line {number}"
            rejects.append(
                Reject(
                    payload={"file": name, "line": number, "text": line[:2000]},
                    external_id="",
                    errors={"non_field_errors": [f"{where}: not valid JSON ({exc})."]},
                )
            )
    return records, rejects


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def move_processed(path: Path) -> Path:
    """Move a read file into ``processed/`` next to it (never overwriting an older one)."""
    target_dir = path.parent / PROCESSED_DIR
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
        target = target_dir / f"{path.stem}.{stamp}{path.suffix}"
    os.replace(path, target)
    return target


# --- registry ------------------------------------------------------------------------------


def adapter_for(connector: Connector, client: SourceClient | None = None) -> Adapter:
    """The adapter for the connector's transport (and pagination style)."""
    if connector.transport == Connector.Transport.REST_PULL:
        if connector.pagination == Connector.Pagination.PAGE:
            return PageAdapter(connector, client)
        return CursorAdapter(connector, client)
    if connector.transport == Connector.Transport.FILE_DROP:
        return FileDropAdapter(connector)
    return PushOnlyAdapter(connector)


def needs_http(connector: Connector) -> bool:
    return connector.transport == Connector.Transport.REST_PULL
