"""A connector's ``sync_config``: which source resources feed which canonical entities, and
how each canonical field is read from a source record (path, type, default).

```json
{"page_size": 500,
 "entities": [
  {"entity": "gl_lines", "resource": "gl-lines",
   "fields": {"external_id": "id", "updated_at": "updated_at",
              "account": "account.id",
              "posting_date": {"path": "date", "type": "date"},
              "amount": {"path": "amount.value", "type": "decimal"},
              "currency": {"path": "amount.currency", "default": "EUR"}},
   "deleted_flag": "deleted"}
]}
```

A field is a dotted path (string) or ``{"path", "type", "default"}`` (``path`` may be left
out when a ``default`` is given: a constant). Types: str, decimal, cents (integer minor
units -> Decimal / 100), int, bool, date, datetime; without a type the value is passed as
the source sent it. The mapped row then goes through the ingestion engine's validation like
any pushed record, so this module only reads and coerces; it never judges business rules.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from finhub.core.money import from_cents
from records.ingestion.entities import COMMON_FIELDS, ENTITIES

TYPES = ("str", "decimal", "cents", "int", "bool", "date", "datetime")
FIELD_KEYS = frozenset({"path", "type", "default"})
ENTITY_KEYS = frozenset({"entity", "resource", "fields", "deleted_flag"})
# A resource is one URL path segment and one folder name: nothing that could climb out.
RESOURCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_SEGMENT_RE = re.compile(r"^[^.\s]+$")
_MISSING = object()


def canonical_fields(entity: str) -> dict[str, Any]:
    """Canonical field name -> FieldSpec for ``entity`` (external_id and updated_at too)."""
    spec = ENTITIES[entity]
    return {f.name: f for f in (*COMMON_FIELDS, *spec.fields)}


def entity_configs(config: dict) -> list[dict]:
    """The configured entities in sync order ([] when the config has none)."""
    if not isinstance(config, dict):
        return []
    entities = config.get("entities")
    return [e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []


def _field_spec(value: Any) -> tuple[str | None, str | None, Any]:
    """(path, type, default) of one field mapping (assumed valid)."""
    if isinstance(value, str):
        return value, None, _MISSING
    return value.get("path"), value.get("type"), value.get("default", _MISSING)


def _path_ok(path: Any) -> bool:
    return (
        isinstance(path, str)
        and bool(path)
        and all(_SEGMENT_RE.match(part) for part in path.split("."))
    )


# --- validation --------------------------------------------------------------------------


def mapping_validate(config: Any) -> list[str]:
    """Every problem of ``config``, one message each naming the entity and the field."""
    if not isinstance(config, dict):
        return ['The sync configuration must be a JSON object with an "entities" list.']
    entities = config.get("entities")
    if not isinstance(entities, list) or not entities:
        return ['The sync configuration needs a non-empty "entities" list.']
    errors: list[str] = []
    unknown_top = sorted(set(config) - {"entities", "page_size"})
    if unknown_top:
        errors.append(f"Unknown top-level key(s): {', '.join(unknown_top)}.")
    page_size = config.get("page_size")
    if page_size is not None and (
        not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= 10000
    ):
        errors.append(f"page_size {page_size!r} must be an integer from 1 to 10000.")
    seen: dict[str, int] = {}
    for index, item in enumerate(entities):
        where = f"entities[{index}]"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be an object with entity, resource and fields.")
            continue
        entity = item.get("entity")
        if not isinstance(entity, str) or entity not in ENTITIES:
            errors.append(
                f"{where}: unknown entity {entity!r}; known: {', '.join(sorted(ENTITIES))}."
            )
            continue
        where = f"entities[{index}] ({entity})"
        if entity in seen:
            errors.append(f"{where}: entity already configured at entities[{seen[entity]}].")
        seen.setdefault(entity, index)
        unknown = sorted(set(item) - ENTITY_KEYS)
        if unknown:
            errors.append(f"{where}: unknown key(s) {', '.join(unknown)}.")
        resource = item.get("resource")
        if not isinstance(resource, str) or not RESOURCE_RE.match(resource):
            errors.append(
                f"{where}: resource {resource!r} must be one path segment "
                "(letters, digits, - and _)."
            )
        flag = item.get("deleted_flag")
        if flag is not None and not _path_ok(flag):
            errors.append(f"{where}: deleted_flag {flag!r} is not a valid dotted path.")
        fields = item.get("fields")
        if not isinstance(fields, dict) or not fields:
            errors.append(f"{where}: fields must be a non-empty object (canonical field -> path).")
            continue
        errors.extend(_validate_fields(where, entity, fields))
    return errors


def _validate_fields(where: str, entity: str, fields: dict) -> list[str]:
    errors: list[str] = []
    known = canonical_fields(entity)
    for name, value in fields.items():
        at = f"{where}, field {name!r}"
        if name not in known:
            errors.append(f"{at}: unknown canonical field; known: {', '.join(known)}.")
            continue
        if isinstance(value, str):
            if not _path_ok(value):
                errors.append(f"{at}: bad path {value!r} (dot-separated keys, none empty).")
            continue
        if not isinstance(value, dict):
            errors.append(f"{at}: must be a path or an object with path, type and default.")
            continue
        extra = sorted(set(value) - FIELD_KEYS)
        if extra:
            errors.append(f"{at}: unknown key(s) {', '.join(extra)} (use path, type, default).")
        path, kind, default = _field_spec(value)
        if path is None and default is _MISSING:
            errors.append(f"{at}: needs a path or a default.")
        elif path is not None and not _path_ok(path):
            errors.append(f"{at}: bad path {path!r} (dot-separated keys, none empty).")
        if kind is not None and kind not in TYPES:
            errors.append(f"{at}: bad type {kind!r}; use one of {', '.join(TYPES)}.")
        elif default is not _MISSING and default is not None:
            try:
                coerce(kind, default)
            except ValueError as exc:
                errors.append(f"{at}: bad default: {exc}")
    if "external_id" not in fields:
        errors.append(f"{where}: missing external_id mapping (the record's id in the source).")
    for name, f in known.items():
        if f.required and name != "external_id" and name not in fields:
            errors.append(f"{where}: required canonical field {name!r} is neither mapped nor "
                          "defaulted.")  # fmt: skip
    return errors


# --- reading a record ----------------------------------------------------------------------


def read_path(raw: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``raw`` (a key containing dots, as a CSV header may,
    is tried whole first); ``_MISSING`` when absent."""
    if isinstance(raw, dict) and path in raw:
        return raw[path]
    value = raw
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _blank(value: Any) -> bool:
    return value is None or value is _MISSING or (isinstance(value, str) and not value.strip())


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def coerce(kind: str | None, value: Any) -> Any:
    """``value`` as ``kind``; ValueError says why (naming the value)."""
    if kind is None:
        return value
    if kind == "str":
        if isinstance(value, str):
            return value
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"cannot read {_show(value)} as text")
    if kind in ("decimal", "cents"):
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
            raise ValueError(f"cannot read {_show(value)} as a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"cannot read {_show(value)} as a number") from None
        if not number.is_finite():
            raise ValueError(f"{_show(value)} is not a finite number")
        if kind == "decimal":
            return number
        if number != number.to_integral_value():
            raise ValueError(f"{_show(value)} is not a whole number of cents")
        return from_cents(int(number))
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value.strip())
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
            return int(value)
        raise ValueError(f"cannot read {_show(value)} as an integer")
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "y", "t"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "n", "f"):
            return False
        raise ValueError(f"cannot read {_show(value)} as true/false")
    if kind == "date":
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError(f"cannot read {_show(value)} as a date (YYYY-MM-DD)")
    if kind == "datetime":
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None:
                if parsed.tzinfo is None:
                    raise ValueError(f"{_show(value)} has no UTC offset")
                return parsed.astimezone(dt.UTC)
        raise ValueError(f"cannot read {_show(value)} as a date-time (ISO 8601 with offset)")
    raise ValueError(f"unknown type {kind!r}")


def mapping_apply(entity_config: dict, raw: Any) -> tuple[dict | None, dict[str, list[str]]]:
    """Map one source record to a canonical row.

    Returns ``(row, {})``, or ``(None, errors)`` with errors by canonical field, each naming
    the path and the value that could not be read. Missing and blank values are left out
    (or take their default) so that the engine's validation decides if they were required.
    """
    if not isinstance(raw, dict):
        return None, {"non_field_errors": [f"Expected a JSON object, got {type(raw).__name__}."]}
    row: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, spec in entity_config["fields"].items():
        path, kind, default = _field_spec(spec)
        value = read_path(raw, path) if path else _MISSING
        if _blank(value):
            if default is _MISSING:
                continue
            value = default
            if value is None:
                continue
        try:
            row[name] = coerce(kind, value)
        except ValueError as exc:
            errors[name] = [f"{path or 'default'}: {exc}."]
    if errors:
        return None, errors
    return row, {}


def external_id_of(entity_config: dict, raw: Any) -> str:
    """The record's id in the source as text ("" when it has none), even if other fields fail."""
    spec = entity_config["fields"].get("external_id")
    if spec is None or not isinstance(raw, dict):
        return ""
    path, _, _ = _field_spec(spec)
    value = read_path(raw, path) if path else _MISSING
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()[:200]


def updated_at_of(entity_config: dict, raw: Any) -> dt.datetime | None:
    """The record's change time in the source (tombstones carry one too), or None."""
    spec = entity_config["fields"].get("updated_at")
    if spec is None or not isinstance(raw, dict):
        return None
    path, _, _ = _field_spec(spec)
    value = read_path(raw, path) if path else _MISSING
    if _blank(value):
        return None
    try:
        return coerce("datetime", value)
    except ValueError:
        return None


def raw_updated_at(entity_config: dict, raw: Any) -> str | None:
    """The change time exactly as the source wrote it (sent back as ``updated_since``)."""
    spec = entity_config["fields"].get("updated_at")
    if spec is None or not isinstance(raw, dict):
        return None
    path, _, _ = _field_spec(spec)
    value = read_path(raw, path) if path else _MISSING
    return value if isinstance(value, str) and value.strip() else None


def is_tombstone(entity_config: dict, raw: Any) -> bool:
    """Whether ``raw`` says the record was deleted in the source (its ``deleted_flag``)."""
    flag = entity_config.get("deleted_flag")
    if not flag or not isinstance(raw, dict):
        return False
    value = read_path(raw, flag)
    if value is _MISSING or value is None:
        return False
    try:
        return bool(coerce("bool", value))
    except ValueError:
        return bool(value)
