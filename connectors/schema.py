"""OpenAPI descriptions of the push API built from the ingestion engine's field specs.

One JSON Schema per entity (the request body of ``POST /api/v1/ingest/<entity>/``) and a
request example that the engine accepts (a test checks it with a dry run).
"""

from typing import Any

MONEY_PATTERN = r"^-?\d+(\.\d{1,%d})?$"

_EXAMPLE_BY_KIND = {
    "date": "2026-01-01",  # a month's first day also suits month fields
    "datetime": "2026-01-31T12:00:00Z",
    "int": 2026,
    "bool": False,
    "currency": "EUR",
}


def field_schema(doc: dict) -> dict[str, Any]:
    kind = doc["type"]
    schema: dict[str, Any]
    if kind == "str":
        schema = {"type": "string"}
        if doc.get("max_length"):
            schema["maxLength"] = doc["max_length"]
    elif kind == "ref":
        schema = {"type": "string", "maxLength": 200}
    elif kind == "date":
        schema = {"type": "string", "format": "date"}
    elif kind == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif kind in ("money", "decimal"):
        places = doc.get("decimal_places", 2)
        schema = {
            "oneOf": [
                {"type": "string", "pattern": MONEY_PATTERN % places},
                {"type": "number"},
            ]
        }
    elif kind == "int":
        schema = {"type": "integer"}
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind == "choice":
        schema = {"type": "string", "enum": list(doc.get("choices", []))}
    elif kind == "currency":
        schema = {"type": "string", "pattern": "^[A-Z]{3}$"}
    else:  # pragma: no cover - a new kind must be described here
        raise ValueError(f"Undocumented field kind {kind!r}")
    schema["description"] = doc["help"]
    if not doc["required"]:
        schema["nullable"] = True
    return schema


def record_schema(docs: dict[str, dict]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: field_schema(doc) for name, doc in docs.items()},
        "required": [name for name, doc in docs.items() if doc["required"]],
        "additionalProperties": False,
    }


def request_schema(docs: dict[str, dict], *, max_records: int) -> dict[str, Any]:
    return {
        "type": "array",
        "maxItems": max_records,
        "items": record_schema(docs),
        "description": f"Up to {max_records} records; unknown fields are errors.",
    }


def example_record(entity: str, docs: dict[str, dict]) -> dict[str, Any]:
    """A record with the required fields filled in plausibly."""
    record: dict[str, Any] = {}
    for name, doc in docs.items():
        # "amount" is sometimes required only by a cross-field rule (e.g. initiative costs).
        if not doc["required"] and name != "amount":
            continue
        kind = doc["type"]
        if name == "external_id":
            record[name] = f"{entity}-1001"
        elif kind in ("money", "decimal"):
            record[name] = "1250.00"
        elif kind == "choice":
            record[name] = doc["choices"][0]
        elif kind == "ref":
            record[name] = f"{name}-1"
        elif kind == "str":
            record[name] = f"Example {name}"[: doc.get("max_length") or None]
        else:
            record[name] = _EXAMPLE_BY_KIND[kind]
    return record
