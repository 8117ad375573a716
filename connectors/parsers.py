"""Exact JSON for money: numbers become Decimal without ever passing through float.

``json.loads`` with ``parse_float=Decimal`` keeps ``12.345`` as ``Decimal("12.345")`` so the
ingestion engine can refuse it (3 decimals) instead of rounding. NaN / Infinity (which
Python's json accepts and JSON does not) become non-finite Decimals, which the engine's money
and decimal validation reports as a field error of that row.
"""

import json
from decimal import Decimal

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


def max_body_bytes() -> int:
    return settings.FINHUB_INGEST_MAX_BODY_BYTES


def read_raw_body(django_request, *, limit: int | None = None) -> bytes:
    """The raw request body, refusing more than ``limit`` bytes before reading them.

    Used instead of ``request.body`` (capped by DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB, and
    answered with a bare 400): the push API accepts larger batches, up to its own cap.
    """
    limit = max_body_bytes() if limit is None else limit
    try:
        length = int(django_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ParseError("Invalid Content-Length header.") from None
    if length > limit:
        raise PayloadTooLarge(f"Request body is {length} bytes; the limit is {limit} bytes.")
    if hasattr(django_request, "_body"):
        body = django_request._body
    else:
        body = django_request.read(limit + 1)
        django_request._body = body  # later readers (request.body) see the same bytes
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")
    return body


def loads_exact(raw: bytes):
    """Parse JSON keeping numbers exact; raise ParseError naming the position on bad input."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"Request body is not valid UTF-8 (byte {exc.start}).") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = json.loads(
            text,
            parse_float=Decimal,
            parse_int=int,
            parse_constant=Decimal,
            object_pairs_hook=_object_without_nul,
        )
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})."
        ) from None
    except NulCharacter:
        raise ParseError(NUL_MESSAGE) from None
    except ValueError as exc:  # e.g. an integer longer than Python converts (4300 digits)
        raise ParseError(f"Malformed JSON: {exc}.") from None
    except RecursionError:
        raise ParseError("Malformed JSON: nested too deeply.") from None
    if _contains_nul(data):
        raise ParseError(NUL_MESSAGE)
    return data


NUL_MESSAGE = "Null characters (\\u0000) are not allowed in JSON strings."


class NulCharacter(ValueError):
    pass


def _contains_nul(value) -> bool:
    """NUL in a string or a list's strings (objects are checked as they are parsed)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _object_without_nul(pairs: list) -> dict:
    """No NUL in keys or string values: text and JSON columns cannot store it (PostgreSQL)."""
    for key, value in pairs:
        if "\x00" in key or _contains_nul(value):
            raise NulCharacter
    return dict(pairs)


class ExactJSONParser(BaseParser):
    """``application/json`` parsed with :func:`loads_exact` (Decimal numbers)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_body_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")
        return loads_exact(raw)
