"""Property (#17): any JSON value in any field of any entity, through the push API and the
signed webhook, never yields a 5xx, costs a bounded time per row, and with ``?atomic=true``
writes nothing unless every row is valid.

Values are generated as JSON *text*, so raw numerals no Python float can spell (1e1000000,
200-digit integers, NaN) reach the parser as an integrator would send them.
"""

import datetime as dt
import json
import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from connectors.services import connector_webhook_secret_rotate
from connectors.webhooks import signature_header
from records.ingestion.entities import COMMON_FIELDS, ENTITIES, FieldSpec
from records.models import IngestBatch
from tests.connectors.helpers import make_token, post_json, reset_throttles
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db

# Per request: a fixed allowance (this machine is shared) plus a small one per row. The CPU
# sink these guard against took 24.5 s for one row.
REQUEST_SECONDS = 1.0
ROW_SECONDS = 0.05

TRICKY_TEXT = [
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "2026-02-30",
    "2026-01-01T25:00:00Z",
    "--5",
    "²",
    "\u0662\u0660\u0662\u0666",  # Arabic-Indic 2026
    "\uff12\uff10\uff12\uff16",  # full-width 2026
    "1e1000000",
    "-1E+999999999",
    "9" * 300,
    "NaN",
    "-Infinity",
    "0x10",
    "1_000",
    " ",
    "",
    "EUR",
    "true",
    "=SUM(A1:A9)",
    "\u200b=1+1",
    "a" * 600,
]
RAW_NUMERALS = st.one_of(
    st.sampled_from(["1e1000000", "-1e1000000", "1E-999999999", "NaN", "Infinity", "-Infinity"]),
    st.from_regex(r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,10})?", fullmatch=True),
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)


def plausible(f: FieldSpec) -> st.SearchStrategy:
    """Values of the field's kind, so that some rows are valid and get written."""
    limit = Decimal(10) ** (f.max_digits - f.decimal_places) - 1
    by_kind = {
        "str": st.text(max_size=20),
        "ref": st.sampled_from(["r-1", "r-2", "r-3"]),
        "date": st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)).map(
            lambda d: d.replace(day=1).isoformat()
        ),
        "datetime": st.datetimes(min_value=dt.datetime(2000, 1, 1)).map(
            lambda d: d.isoformat() + "Z"
        ),
        "money": st.decimals(min_value=0, max_value=limit, places=f.decimal_places).map(str),
        "decimal": st.decimals(min_value=0, max_value=limit, places=f.decimal_places).map(str),
        "int": st.integers(
            min_value=int(f.min_value) if f.min_value is not None else -(10**6),
            max_value=int(f.max_value) if f.max_value is not None else 10**6,
        ),
        "bool": st.booleans(),
        "choice": st.sampled_from(f.choices or ("x",)),
        "currency": st.sampled_from(["EUR", "USD", "eur", "XXX"]),
    }
    return by_kind[f.kind]


def fragment(f: FieldSpec) -> st.SearchStrategy[str]:
    """One field's value as JSON text: plausible, arbitrary, tricky, or a raw numeral."""
    return st.one_of(
        plausible(f).map(json.dumps),
        plausible(f).map(json.dumps),
        JSON_VALUES.map(json.dumps),
        st.sampled_from(TRICKY_TEXT).map(json.dumps),
        RAW_NUMERALS,
    )


def record_text(entity: str) -> st.SearchStrategy[str]:
    fields = (*COMMON_FIELDS, *ENTITIES[entity].fields)

    @st.composite
    def build(draw) -> str:
        parts = []
        for f in fields:
            if f.name == "external_id" and draw(st.integers(0, 9)):
                value = json.dumps(f"e-{draw(st.integers(0, 40))}")
            elif f.required or draw(st.booleans()):
                value = draw(fragment(f))
            else:
                continue
            parts.append(f"{json.dumps(f.name)}: {value}")
        if not draw(st.integers(0, 9)):
            parts.append(f'"unknown": {draw(JSON_VALUES.map(json.dumps))}')
        return "{" + ", ".join(parts) + "}"

    return st.one_of(build(), build(), build(), JSON_VALUES.map(json.dumps))


def body_text(entity: str) -> st.SearchStrategy[tuple[str, int]]:
    return st.lists(record_text(entity), min_size=1, max_size=5).map(
        lambda rows: ("[" + ", ".join(rows) + "]", len(rows))
    )


def timed(send) -> tuple:
    started = time.perf_counter()
    response = send()
    return response, time.perf_counter() - started


def assert_answered(response, elapsed: float, rows: int) -> None:
    assert response.status_code < 500, response.content[:500]
    assert elapsed < REQUEST_SECONDS + ROW_SECONDS * rows, f"{elapsed:.2f} s for {rows} rows"


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_any_json_in_any_field_is_answered_without_a_server_error(client, entity):
    connector = ConnectorFactory(name=f"Fuzzed {entity}")
    _, token = make_token(connector, entities=[entity])
    secret = connector_webhook_secret_rotate(connector=connector)
    url = f"/api/v1/ingest/{entity}/"
    post_json(client, url, {}, token=token)  # the first request imports the views: not timed
    events = iter(range(10**6))

    @hsettings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(body=body_text(entity))
    def check(body):
        raw, rows = body
        reset_throttles()

        before = IngestBatch.objects.count()
        atomic, elapsed = timed(
            lambda: post_json(client, url + "?atomic=true", None, raw=raw, token=token)
        )
        assert_answered(atomic, elapsed, rows)
        if atomic.status_code in (200, 201):
            assert atomic.json()["errors"] == []
            assert atomic.json()["rejected"] == 0
        else:  # refused as a whole: nothing written, not even a batch
            assert IngestBatch.objects.count() == before

        response, elapsed = timed(lambda: post_json(client, url, None, raw=raw, token=token))
        assert_answered(response, elapsed, rows)
        if response.status_code in (200, 201):
            answer = response.json()
            assert (
                answer["created"] + answer["updated"] + answer["unchanged"] + answer["rejected"]
                == rows
            )

        envelope = f'{{"id": "evt-{next(events)}", "type": "{entity}", "data": {raw}}}'.encode()
        delivery, elapsed = timed(
            lambda: client.post(
                f"/api/v1/webhooks/{connector.slug}/",
                data=envelope,
                content_type="application/json",
                HTTP_X_FINHUB_SIGNATURE=signature_header(secret=secret, body=envelope),
            )
        )
        assert_answered(delivery, elapsed, rows)

    check()
