"""The API docs' sign convention of a GL line's amount is the one the demo ERP sends and the
dashboards add up (issue #18, item 14): revenue and expenses positive, reversals negative."""

import datetime as dt
import json
from collections import Counter

import pytest

from connectors.sandbox.company import generate
from tests.connectors.helpers import bearer, make_token

pytestmark = pytest.mark.django_db


def test_the_documented_sign_is_the_demo_erps(client):
    _, plaintext = make_token(can_read=True)
    schema = client.get("/api/schema/?format=json", **bearer(plaintext)).content.decode()
    # The push endpoint of gl_lines documents its amount field (connectors/schema.py).
    text = " ".join(
        json.dumps(op)
        for path, ops in json.loads(schema)["paths"].items()
        if path.endswith("/gl_lines/")
        for op in ops.values()
    )
    assert "credits negative" not in text
    assert "revenue and expenses positive" in text

    company = generate(seed=7, scale=0.05, end_month=dt.date(2026, 10, 1))
    kinds = {a["external_id"]: a["type"] for a in company.entities["accounts"]}
    signs = Counter(
        (kinds[line["account"]], line["amount"] > 0) for line in company.entities["gl_lines"]
    )
    # Every revenue line of the demo ERP (invoices, services) is positive: a credit.
    assert signs[("revenue", True)] > 0
    assert signs[("revenue", False)] == 0
    # Expenses are positive too, bar the odd credit note.
    assert signs[("expense", True)] > 10 * signs[("expense", False)]
