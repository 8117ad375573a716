"""The ``saas_metrics`` management command end to end on small hand-worked files
(docs/metrics.md, "SaaS metrics command files")."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]

# Columns out of order, with the informational event column and an extra column.
EVENTS = """\
event,customer_id,effective_date,mrr_after,note
new,A,2026-01-10,100,x
new,B,2026-01-15,200,
churn,B,2026-02-10,0,
new,C,2026-02-03,50,in and out within February
churn,C,2026-02-20,0,
new,D,2026-02-05,60,two events on one day: the later holds
upgrade,D,2026-02-05,90,

upgrade,A,2026-03-05,150,
reactivation,B,2026-04-01,80,
downgrade,A,2026-04-10,120,
"""
ACQUISITION = """\
customer_id,acquired_month,channel
A,2026-01,ads
B,2026-01,seo
C,2026-02,ads
D,2026-02,ads
"""
COSTS = """\
month,channel,sales_and_marketing_cost
2026-01,ads,200
2026-01,ads,100
2026-01,unallocated,100
2026-02,ads,90
2026-02,seo,30
2026-03,,50
"""
HEADER = (
    "month,starting_mrr,new_mrr,expansion_mrr,contraction_mrr,churned_mrr,reactivation_mrr,"
    "net_new_mrr,ending_mrr,customers_start,new_customers,reactivated_customers,"
    "churned_customers,customers_end,logo_churn_rate,grr_month,nrr_month,nrr_t12m,grr_t12m,"
    "arpa,blended_cac,paid_cac,ltv,ltv_t12m_churn,cac_payback_months,ltv_to_cac\n"
)
# Jan: A 100 + B 200 new; CAC (300 ads + 100 unallocated) / 2, paid 300 / 1 (A); payback
# 200 / (150 * 0.8). Feb: B churns 200, D new 90 (C never at a month end); churn 1/2; NRR =
# GRR = 100/300; ARPA 190/2; CAC 120/1, paid 90/1; LTV 95 * 0.8 / 0.5 = 152; payback
# 120/76; LTV:CAC 152/120. Mar: A expands 50; NRR 240/190; 50 unallocated, no new
# customer: no CAC. Apr: A contracts 30, B reactivates 80 (not new); NRR = GRR = 210/240;
# ARPA 290/3.
EXPECTED_CSV = HEADER + (
    "2026-01,0.00,300.00,0.00,0.00,0.00,0.00,300.00,300.00,0,2,0,0,2,,,,,,"
    "150.00,200.00,300.00,,,1.6666666667,\n"
    "2026-02,300.00,90.00,0.00,0.00,200.00,0.00,-110.00,190.00,2,1,0,1,2,"
    "0.5000000000,0.3333333333,0.3333333333,,,95.00,120.00,90.00,152.00,,"
    "1.5789473684,1.2666666667\n"
    "2026-03,190.00,0.00,50.00,0.00,0.00,0.00,50.00,240.00,2,0,0,0,2,"
    "0.0000000000,1.0000000000,1.2631578947,,,120.00,,,,,,\n"
    "2026-04,240.00,0.00,0.00,30.00,0.00,80.00,50.00,290.00,2,0,1,0,3,"
    "0.0000000000,0.8750000000,0.8750000000,,,96.67,,,,,,\n"
)


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, text in (("events", EVENTS), ("acquisition", ACQUISITION), ("costs", COSTS)):
        paths[name] = tmp_path / f"{name}.csv"
        paths[name].write_text(text)
    return paths


def file_args(files, **replace):
    paths = {**files, **replace}
    return [
        "--events",
        str(paths["events"]),
        "--acquisition",
        str(paths["acquisition"]),
        "--costs",
        str(paths["costs"]),
    ]


def run_command(files, *args, **replace):
    out = StringIO()
    call_command("saas_metrics", *file_args(files, **replace), *args, stdout=out)
    return out.getvalue()


def run_process(*args):
    return subprocess.run(
        [sys.executable, "manage.py", "saas_metrics", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv(files):
    assert run_command(files, "--paid-channels", "ads") == EXPECTED_CSV


def test_json_with_gross_margin_and_no_paid_channel(files):
    rows = json.loads(run_command(files, "--format", "json", "--gross-margin", "0.5"))
    assert [row["month"] for row in rows] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    feb = rows[1]
    assert list(feb) == HEADER.strip().split(",")
    assert feb["ltv"] == "95.00"  # 95 * 0.5 / 0.5
    assert feb["cac_payback_months"] == "2.5263157895"  # 120 / (95 * 0.5)
    assert feb["ltv_to_cac"] == "0.7916666667"  # 95 / 120
    assert feb["paid_cac"] == ""  # no paid channel configured
    assert feb["blended_cac"] == "120.00"
    assert rows[0]["logo_churn_rate"] == ""


def test_gross_margin_as_percentage(files):
    assert run_command(files, "--paid-channels", "ads", "--gross-margin", "80%") == EXPECTED_CSV


def test_subprocess_success_and_error_exit_codes(files, tmp_path):
    result = run_process(*file_args(files), "--paid-channels", "ads")
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED_CSV and result.stderr == ""

    bad = write(tmp_path, "bad.csv", EVENTS.replace("2026-02-10", "2026-02-30"))
    result = run_process(*file_args(files, events=bad))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0  # one line
    assert f"{bad}, line 4: effective_date '2026-02-30' is not an ISO date" in result.stderr


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "events",
            EVENTS.replace("downgrade,A,2026-04-10,120", "downgrade,A,2026-04-10,-5"),
            "line 12: mrr_after -5 is negative",
        ),
        (
            "events",
            EVENTS.replace("new,A,2026-01-10,100", "new,A,2026-01-10,lots"),
            "line 2: mrr_after 'lots' is not a decimal number",
        ),
        (
            "events",
            EVENTS.replace("new,A,2026-01-10", "new,A,10/01/2026"),
            "line 2: effective_date '10/01/2026' is not an ISO date",
        ),
        ("events", EVENTS.replace("new,A,", "new,,"), "line 2: customer_id is empty"),
        (
            "events",
            EVENTS.replace("mrr_after", "mrr"),
            "missing column mrr_after (found: event, customer_id, effective_date, mrr, note)",
        ),
        ("events", "", "empty file, expected columns customer_id, effective_date, mrr_after"),
        (
            "acquisition",
            ACQUISITION.replace("B,2026-01", "B,January"),
            "line 3: acquired_month 'January' is not a month (YYYY-MM)",
        ),
        (
            "acquisition",
            ACQUISITION + "A,2026-01,seo\n",
            "line 6: customer 'A' appears twice",
        ),
        ("acquisition", ACQUISITION.replace(",ads\nB", ",\nB"), "line 2: channel is empty"),
        (
            "costs",
            COSTS.replace("2026-02,seo,30", "2026-02,seo,-30"),
            "line 6: sales_and_marketing_cost -30 is negative",
        ),
        (
            "costs",
            COSTS.replace("2026-03,,50", "2026-13,,50"),
            "line 7: month '2026-13' is not a month (YYYY-MM)",
        ),
        (
            "costs",
            COSTS.replace("sales_and_marketing_cost", "cost"),
            "missing column sales_and_marketing_cost",
        ),
    ],
)
def test_file_errors_name_file_and_line(files, tmp_path, name, text, message):
    bad = write(tmp_path, f"bad_{name}.csv", text)
    with pytest.raises(CommandError) as caught:
        run_command(files, **{name: bad})
    assert caught.value.returncode == 2
    assert str(caught.value).startswith(f"{bad}")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file(files):
    with pytest.raises(CommandError, match=r"cannot read costs file /nonexistent\.csv") as caught:
        run_command(files, costs=Path("/nonexistent.csv"))
    assert caught.value.returncode == 2


@pytest.mark.parametrize("margin", ["1.5", "0", "-0.2", "abc", "NaN", "150%"])
def test_bad_gross_margin(files, margin):
    with pytest.raises(CommandError, match="--gross-margin must be a fraction in") as caught:
        run_command(files, "--gross-margin", margin)
    assert caught.value.returncode == 2


def test_bad_format(files):
    with pytest.raises(CommandError, match="unknown --format 'xml'") as caught:
        run_command(files, "--format", "xml")
    assert caught.value.returncode == 2


def test_not_utf8(files, tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("customer_id,acquired_month,channel\nA,2026-01,caf\xe9\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8 text") as caught:
        run_command(files, acquisition=bad)
    assert caught.value.returncode == 2
