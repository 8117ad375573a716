import datetime as dt
from decimal import Decimal

from connectors.sync.mapping import is_tombstone, mapping_apply, mapping_validate

GL = {
    "entity": "gl_lines",
    "resource": "gl-lines",
    "fields": {
        "external_id": "id",
        "updated_at": {"path": "updated_at", "type": "datetime"},
        "account": "account.id",
        "posting_date": {"path": "date", "type": "date"},
        "amount": {"path": "amount.value", "type": "decimal"},
        "currency": {"path": "amount.currency", "default": "EUR"},
    },
    "deleted_flag": "deleted",
}


def test_a_valid_config_has_no_errors():
    assert mapping_validate({"entities": [GL], "page_size": 100}) == []


def test_validation_names_the_entity_and_field_of_every_problem():
    config = {
        "entities": [
            {"entity": "ledger", "resource": "x", "fields": {"external_id": "id"}},
            {
                "entity": "gl_lines",
                "resource": "../etc",
                "fields": {
                    "amount": {"path": "amount..value", "type": "money"},
                    "colour": "paint",
                    "posting_date": {"type": "date"},
                    "currency": {"path": "c", "type": "int", "default": "EUR"},
                },
            },
        ]
    }
    errors = mapping_validate(config)
    text = "\n".join(errors)
    assert "entities[0]: unknown entity 'ledger'" in text
    assert "entities[1] (gl_lines): resource '../etc' must be one path segment" in text
    assert "entities[1] (gl_lines), field 'amount': bad path 'amount..value'" in text
    assert "entities[1] (gl_lines), field 'amount': bad type 'money'" in text
    assert "entities[1] (gl_lines), field 'colour': unknown canonical field" in text
    assert "entities[1] (gl_lines), field 'posting_date': needs a path or a default" in text
    assert (
        "entities[1] (gl_lines), field 'currency': bad default: cannot read 'EUR' as an integer"
        in text
    )
    assert "entities[1] (gl_lines): missing external_id mapping" in text
    assert "entities[1] (gl_lines): required canonical field 'account' is neither mapped" in text


def test_validation_of_the_overall_shape():
    assert mapping_validate([]) == [
        'The sync configuration must be a JSON object with an "entities" list.'
    ]
    assert mapping_validate({"entities": []}) == [
        'The sync configuration needs a non-empty "entities" list.'
    ]
    errors = mapping_validate({"entities": [GL, GL], "page_size": 0, "extra": 1})
    assert "Unknown top-level key(s): extra." in errors
    assert "page_size 0 must be an integer from 1 to 10000." in errors
    assert "entities[1] (gl_lines): entity already configured at entities[0]." in errors


def test_apply_reads_dotted_paths_coerces_types_and_fills_defaults():
    raw = {
        "id": "GL-1",
        "updated_at": "2026-01-02T03:04:05.123456Z",
        "account": {"id": "4000"},
        "date": "2026-01-02",
        "amount": {"value": "12.30"},
        "extra": "ignored",
    }
    row, errors = mapping_apply(GL, raw)
    assert errors == {}
    assert row == {
        "external_id": "GL-1",
        "updated_at": dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
        "account": "4000",
        "posting_date": dt.date(2026, 1, 2),
        "amount": Decimal("12.30"),
        "currency": "EUR",
    }


def test_every_type():
    config = {
        "fields": {
            "external_id": {"path": "id", "type": "str"},
            "amount": {"path": "cents", "type": "cents"},
            "fiscal_year": {"path": "year", "type": "int"},
            "is_current": {"path": "current", "type": "bool"},
            "rate": {"path": "rate", "type": "decimal"},
        }
    }
    row, errors = mapping_apply(
        config, {"id": 17, "cents": 123456, "year": "2026", "current": "yes", "rate": "1.0825"}
    )
    assert errors == {}
    assert row == {
        "external_id": "17",
        "amount": Decimal("1234.56"),
        "fiscal_year": 2026,
        "is_current": True,
        "rate": Decimal("1.0825"),
    }


def test_missing_and_blank_values_are_left_for_validation():
    row, errors = mapping_apply(GL, {"id": "GL-2", "amount": {"value": ""}})
    assert errors == {}
    assert row == {"external_id": "GL-2", "currency": "EUR"}


def test_coercion_errors_name_the_field_the_path_and_the_value():
    raw = {"id": "GL-3", "date": "02/01/2026", "amount": {"value": "12,30"}}
    row, errors = mapping_apply(GL, raw)
    assert row is None
    assert errors == {
        "posting_date": ["date: cannot read '02/01/2026' as a date (YYYY-MM-DD)."],
        "amount": ["amount.value: cannot read '12,30' as a number."],
    }
    _, errors = mapping_apply({"fields": {"amount": {"path": "c", "type": "cents"}}}, {"c": "12.5"})
    assert errors == {"amount": ["c: '12.5' is not a whole number of cents."]}
    _, errors = mapping_apply(
        {"fields": {"updated_at": {"path": "t", "type": "datetime"}}}, {"t": "2026-01-02T10:00"}
    )
    assert errors == {"updated_at": ["t: '2026-01-02T10:00' has no UTC offset."]}
    assert mapping_apply(GL, ["not", "an", "object"]) == (
        None,
        {"non_field_errors": ["Expected a JSON object, got list."]},
    )


def test_tombstones_are_detected_by_the_deleted_flag():
    assert is_tombstone(GL, {"id": "GL-1", "updated_at": "…", "deleted": True})
    assert is_tombstone(GL, {"id": "GL-1", "deleted": "true"})
    assert not is_tombstone(GL, {"id": "GL-1", "deleted": False})
    assert not is_tombstone(GL, {"id": "GL-1"})
    assert not is_tombstone({**GL, "deleted_flag": None}, {"id": "GL-1", "deleted": True})
