"""The retention and product ROI settings: defaults, and a clear error for a bad value.

Settings load once per process, so each bad value is checked in a child process."""

import pytest
from django.conf import settings

from tests.core.test_settings import run_manage


def test_defaults():
    assert settings.FINHUB_CS_DEPARTMENTS == ["Customer Success"]
    assert settings.FINHUB_PRODUCT_DEPARTMENTS == ["Product", "Engineering"]
    assert settings.FINHUB_VALUE_HORIZON_MONTHS == 12
    assert settings.FINHUB_BASELINE_MONTHS == 12


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FINHUB_VALUE_HORIZON_MONTHS", "0", "FINHUB_VALUE_HORIZON_MONTHS must be a positive"),
        ("FINHUB_VALUE_HORIZON_MONTHS", "twelve", "not 'twelve'"),
        ("FINHUB_BASELINE_MONTHS", "-3", "FINHUB_BASELINE_MONTHS must be a positive"),
        ("FINHUB_BASELINE_MONTHS", "1.5", "not '1.5'"),
        ("FINHUB_CS_DEPARTMENTS", " , ", "FINHUB_CS_DEPARTMENTS must name at least one"),
        ("FINHUB_PRODUCT_DEPARTMENTS", ",", "FINHUB_PRODUCT_DEPARTMENTS must name at least one"),
    ],
)
def test_bad_value_stops_startup_naming_the_setting(name, value, message):
    result = run_manage("check", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_values_are_read_from_the_environment():
    code = (
        "from django.conf import settings as s; "
        "print(s.FINHUB_CS_DEPARTMENTS, s.FINHUB_PRODUCT_DEPARTMENTS, "
        "s.FINHUB_VALUE_HORIZON_MONTHS, s.FINHUB_BASELINE_MONTHS)"
    )
    result = run_manage(
        "shell",
        "-c",
        code,
        FINHUB_CS_DEPARTMENTS="CS, Support",
        FINHUB_PRODUCT_DEPARTMENTS="R&D",
        FINHUB_VALUE_HORIZON_MONTHS="24",
        FINHUB_BASELINE_MONTHS="6",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['CS', 'Support'] ['R&D'] 24 6"
