"""The ``attribution`` management command end to end (docs/metrics.md, "Attribution command
files")."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from metrics.computations.attribution_files import format_conversions

ROOT = Path(__file__).resolve().parents[3]

# Columns in a different order than the spec, plus an extra column.
TOUCHPOINTS = """\
campaign,channel,touchpoint_id,contact_id,occurred_at,utm_source
spring,email,1,a,2026-01-01T00:00:00Z,x
brand,ads,2,a,2026-01-02T00:00:00+00:00,x
spring,seo,3,a,2026-01-03T01:00:00+01:00,x
brand,ads,4,b,2026-01-01T00:00:00Z,x
spring,email,5,c,2026-01-01T00:00:00Z,x
,seo,6,c,2026-01-02T00:00:00Z,x
"""
CONVERSIONS = """\
amount,converted_at,contact_id,deal_id
100.00,2026-01-10T00:00:00Z,a,d1
33.33,2026-01-05T00:00:00Z,b,d2
5,2026-01-05T00:00:00Z,nobody,d3
"""


@pytest.fixture
def files(tmp_path):
    touchpoints = tmp_path / "touchpoints.csv"
    conversions = tmp_path / "conversions.csv"
    touchpoints.write_text(TOUCHPOINTS)
    conversions.write_text(CONVERSIONS)
    return touchpoints, conversions


def run_command(touchpoints, conversions, *args):
    out = StringIO()
    call_command(
        "attribution",
        "--touchpoints",
        str(touchpoints),
        "--conversions",
        str(conversions),
        *args,
        stdout=out,
    )
    return out.getvalue()


def run_process(*args):
    return subprocess.run(
        [sys.executable, "manage.py", "attribution", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_linear_csv(files):
    # a: email, ads, seo (1/3 each of 100.00: 33.34 to ads, the alphabetically first);
    # b: ads (33.33); nobody: unattributed 5.00.
    assert run_command(*files, "--model", "linear") == (
        "key,attributed_conversions,attributed_revenue\n"
        "ads,1.333333,66.67\n"
        "email,0.333333,33.33\n"
        "seo,0.333333,33.33\n"
        "(unattributed),1.000000,5.00\n"
    )


def test_markov_csv(files):
    # The chain of tests/metrics/computations/test_markov.py: shares email 1/3, ads 2/5,
    # seo 4/15 of 2 conversions and 133.33.
    assert run_command(*files, "--model", "markov") == (
        "key,attributed_conversions,attributed_revenue\n"
        "ads,0.800000,53.33\n"
        "email,0.666667,44.44\n"
        "seo,0.533333,35.56\n"
        "(unattributed),1.000000,5.00\n"
    )


def test_campaign_json_with_lookback(files):
    # Lookback 8 days: d1 (Jan 10) no longer sees email/spring (Jan 1); ads/brand (Jan 2, exactly
    # 8 days before) is its first touch. d2 (b): brand. c's seo has no campaign: "(none)".
    output = run_command(
        *files,
        "--model",
        "first_touch",
        "--group-by",
        "campaign",
        "--format",
        "json",
        "--lookback-days",
        "8",
    )
    assert json.loads(output) == [
        {"key": "(none)", "attributed_conversions": "0.000000", "attributed_revenue": "0.00"},
        {"key": "brand", "attributed_conversions": "2.000000", "attributed_revenue": "133.33"},
        {"key": "spring", "attributed_conversions": "0.000000", "attributed_revenue": "0.00"},
        {
            "key": "(unattributed)",
            "attributed_conversions": "1.000000",
            "attributed_revenue": "5.00",
        },
    ]


def test_time_decay_half_life_option(files):
    # Half-life 1 day, d1 at Jan 10: Δ 9, 8, 7 days → weights 1/512, 1/256, 1/128 → 1/7, 2/7,
    # 4/7 of 10000 cents: 1428.57, 2857.14, 5714.29 → floors 1428 + 2857 + 5714 = 9999, the
    # cent goes to email (0.57): email 14.29, ads 28.57 + 33.33 (b), seo 57.14.
    output = run_command(*files, "--model", "time_decay", "--half-life-days", "1")
    assert output.splitlines()[1:] == [
        "ads,1.285714,61.90",
        "email,0.142857,14.29",
        "seo,0.571429,57.14",
        "(unattributed),1.000000,5.00",
    ]


def test_unknown_model_via_call_command(files):
    with pytest.raises(CommandError, match="unknown model 'u_shaped'") as caught:
        run_command(*files, "--model", "u_shaped")
    assert caught.value.returncode == 2


def test_subprocess_csv_and_json(files):
    touchpoints, conversions = files
    result = run_process(
        "--touchpoints", touchpoints, "--conversions", conversions, "--model", "last_touch"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == (
        "key,attributed_conversions,attributed_revenue\n"
        "ads,1.000000,33.33\n"
        "email,0.000000,0.00\n"
        "seo,1.000000,100.00\n"
        "(unattributed),1.000000,5.00\n"
    )
    result = run_process(
        "--touchpoints",
        touchpoints,
        "--conversions",
        conversions,
        "--model",
        "position_based",
        "--group-by",
        "campaign",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    # a: spring 0.4, brand 0.2, spring 0.4; b: brand 1.
    assert json.loads(result.stdout)[:3] == [
        {"key": "(none)", "attributed_conversions": "0.000000", "attributed_revenue": "0.00"},
        {"key": "brand", "attributed_conversions": "1.200000", "attributed_revenue": "53.33"},
        {"key": "spring", "attributed_conversions": "0.800000", "attributed_revenue": "80.00"},
    ]


def test_subprocess_bad_time_exits_2_naming_file_and_line(files, tmp_path):
    _touchpoints, conversions = files
    bad = tmp_path / "bad.csv"
    bad.write_text(TOUCHPOINTS.replace("2026-01-02T00:00:00+00:00", "next tuesday"))
    result = run_process("--touchpoints", bad, "--conversions", conversions, "--model", "linear")
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{bad}, line 3: occurred_at 'next tuesday' is not an ISO 8601 time" in result.stderr


def test_subprocess_bad_amount_exits_2(files, tmp_path):
    touchpoints, _conversions = files
    bad = tmp_path / "deals.csv"
    bad.write_text(CONVERSIONS.replace("33.33", "33,33").replace("33,33,", '"33,33",'))
    result = run_process("--touchpoints", touchpoints, "--conversions", bad, "--model", "linear")
    assert result.returncode == 2
    assert f"{bad}, line 3: amount '33,33' is not a decimal number" in result.stderr


def test_subprocess_missing_column_exits_2_naming_it(files, tmp_path):
    _touchpoints, conversions = files
    bad = tmp_path / "tp.csv"
    bad.write_text(TOUCHPOINTS.replace("campaign,", "campaign_name,", 1))
    result = run_process("--touchpoints", bad, "--conversions", conversions, "--model", "linear")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "missing column campaign" in result.stderr


def test_subprocess_unknown_model_and_missing_file_exit_2(files):
    touchpoints, conversions = files
    result = run_process("--touchpoints", touchpoints, "--conversions", conversions, "--model", "x")
    assert result.returncode == 2
    assert "unknown model 'x'" in result.stderr
    result = run_process(
        "--touchpoints", "/nonexistent.csv", "--conversions", conversions, "--model", "linear"
    )
    assert result.returncode == 2
    assert "cannot read touchpoints file /nonexistent.csv" in result.stderr


def test_time_without_offset_is_rejected(files, tmp_path):
    _touchpoints, conversions = files
    bad = tmp_path / "tp.csv"
    bad.write_text(
        TOUCHPOINTS.replace("2026-01-01T00:00:00Z,x\nbrand", "2026-01-01T00:00:00,x\nbrand")
    )
    with pytest.raises(CommandError, match=r"line 2: occurred_at .* has no UTC offset") as caught:
        run_command(bad, conversions, "--model", "linear")
    assert caught.value.returncode == 2


def test_conversions_format_rounds_half_up_exactly():
    from fractions import Fraction

    assert format_conversions(Fraction(2, 3)) == "0.666667"
    assert format_conversions(Fraction(1, 2_000_000)) == "0.000001"  # exactly half → up
    assert format_conversions(Fraction(1, 2_000_001)) == "0.000000"
    assert format_conversions(Fraction(5)) == "5.000000"
