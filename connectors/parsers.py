"""Exact JSON for money: numbers become Decimal without ever passing through float.

``json.loads`` with ``parse_float=Decimal`` keeps ``12.345`` as ``Decimal("12.345")`` so the
ingestion engine can refuse it (3 decimals) instead of rounding. NaN / Infinity (which
Python's json accepts and JSON does not) become non-finite Decimals, which the engine's money
and decimal validation reports as a field error of that row.

No request costs more than its size suggests: a number longer than ``MAX_NUMBER_CHARS`` (or
with an exponent no decimal holds) is refused before it is converted; numbers in range are
bounded by each field before conversion (records.ingestion.validation); nesting is limited
to ``MAX_DEPTH`` levels; and the body is read up to ``FINHUB_INGEST_MAX_BODY_BYTES``, with or
without a Content-Length.
"""

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

from records.ingestion.validation import MAX_NUMBER_CHARS

# Records are two levels deep ([{…}]), a webhook envelope three; no field holds a structure.
MAX_DEPTH = 32


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."
    default_code = "payload_too_large"


class LengthRequired(APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = "Content-Length required."
    default_code = "length_required"


def max_body_bytes() -> int:
    return settings.FINHUB_INGEST_MAX_BODY_BYTES


def read_raw_body(django_request, *, limit: int | None = None) -> bytes:
    """The raw request body, refusing more than ``limit`` bytes before reading them.

    Used instead of ``request.body`` (capped by DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB, and
    answered with a bare 400): the push API accepts larger batches, up to its own cap.
    """
    limit = max_body_bytes() if limit is None else limit
    meta = django_request.META
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ParseError("Invalid Content-Length header.") from None
    if length > limit:
        raise PayloadTooLarge(f"Request body is {length} bytes; the limit is {limit} bytes.")
    if hasattr(django_request, "_body"):
        body = django_request._body
    elif (
        not meta.get("CONTENT_LENGTH")
        and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    ):
        body = _read_chunked(meta, limit)
        django_request._body = body
    else:
        body = django_request.read(limit + 1)
        django_request._body = body  # later readers (request.body) see the same bytes
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")
    return body


def _read_chunked(meta: Mapping[str, Any], limit: int) -> bytes:
    """A chunked body (no Content-Length), read from the server's input stream.

    Django reads a request without Content-Length as empty. The server decodes the chunks;
    only one that marks its stream as ending with the body (``wsgi.input_terminated``:
    gunicorn, uWSGI, mod_wsgi) can be read to the end safely — elsewhere (e.g. runserver)
    reading would wait for bytes that never come, so the client is told to send a length.
    """
    if not meta.get("wsgi.input_terminated"):
        raise LengthRequired(
            "This server needs a Content-Length header: send the body with its length, not chunked."
        )
    stream = meta["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(min(64 * 1024, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def loads_exact(raw: bytes):
    """Parse JSON keeping numbers exact; raise ParseError naming the position on bad input."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"Request body is not valid UTF-8 (byte {exc.start}).") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    checker = _Checker()
    try:
        data = json.loads(
            text,
            parse_float=_bounded_decimal,
            parse_int=_bounded_int,
            parse_constant=Decimal,
            object_pairs_hook=checker.object,
        )
        checker.depth(data, 0)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"Malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (char {exc.pos})."
        ) from None
    except UnstorableJSON as exc:
        raise ParseError(str(exc)) from None
    except ValueError as exc:  # anything else the decoder refuses
        raise ParseError(f"Malformed JSON: {exc}.") from None
    except RecursionError:
        raise ParseError(DEPTH_MESSAGE) from None
    return data


NUL_MESSAGE = "Null characters (\\u0000) are not allowed in JSON strings."
SURROGATE_MESSAGE = (
    "Unpaired surrogates (\\ud800-\\udfff) are not valid Unicode text; send each character "
    "as a pair or as UTF-8."
)
DEPTH_MESSAGE = f"Malformed JSON: nested too deeply (at most {MAX_DEPTH} levels)."
# Text no column can store: PostgreSQL text and JSON refuse NUL, and an unpaired surrogate
# cannot be encoded as UTF-8 at all.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnstorableJSON(ValueError):
    """Valid JSON that FinHub does not take: NUL, an unpaired surrogate, too deep nesting,
    a number too long to read."""


def _bounded_int(text: str) -> int:
    # Converting digits to an int costs quadratic time (Python stops at 4300 digits, after
    # milliseconds); no field takes more than MAX_NUMBER_CHARS.
    if len(text) > MAX_NUMBER_CHARS:
        raise UnstorableJSON(_too_long(text))
    return int(text)


def _bounded_decimal(text: str) -> Decimal:
    if len(text) > MAX_NUMBER_CHARS:
        raise UnstorableJSON(_too_long(text))
    try:
        return Decimal(text)
    except InvalidOperation:  # 1e99999999999999999999: beyond any decimal's exponent
        raise UnstorableJSON(f"Number {text} is out of range.") from None


def _too_long(text: str) -> str:
    return f"Number {text[:20]}… has {len(text)} characters; at most {MAX_NUMBER_CHARS} are read."


class _Checker:
    """Checks strings and nesting while ``json.loads`` builds the value, in one pass.

    Each object is checked as it is built (``object_pairs_hook``): its keys, its strings and
    the lists under it; an object inside it was checked before, and its depth remembered
    (by id: every built object stays alive in its parent until parsing ends).
    """

    def __init__(self) -> None:
        self.depths: dict[int, int] = {}

    def object(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        deepest = 0
        for key, value in pairs:
            _check_text(key)
            deepest = max(deepest, self.depth(value, 1))
        built = dict(pairs)
        self.depths[id(built)] = deepest
        return built

    def depth(self, value: object, level: int) -> int:
        """How deep ``value`` nests below ``level``; raises past MAX_DEPTH."""
        if isinstance(value, str):
            _check_text(value)
            return level
        if isinstance(value, dict):
            below = self.depths.get(id(value), 0)
            if level + below > MAX_DEPTH:
                raise UnstorableJSON(DEPTH_MESSAGE)
            return level + below
        if isinstance(value, list):
            if level >= MAX_DEPTH:
                raise UnstorableJSON(DEPTH_MESSAGE)
            return max((self.depth(item, level + 1) for item in value), default=level)
        return level


def _check_text(text: str) -> None:
    found = _UNSTORABLE.search(text)
    if found:
        raise UnstorableJSON(NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE)


class ExactJSONParser(BaseParser):
    """``application/json`` parsed with :func:`loads_exact` (Decimal numbers)."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        if request is not None:  # the same bounded read as the views' (chunked included)
            return loads_exact(read_raw_body(request._request))
        limit = max_body_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")
        return loads_exact(raw)
