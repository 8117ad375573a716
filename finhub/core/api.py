"""FinHub's API error format, set once in ``REST_FRAMEWORK["EXCEPTION_HANDLER"]``.

An error with one message answers ``{"detail": "...", "code": "..."}``, the code stable and
machine-readable; validation errors keep DRF's ``{field: [messages]}``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ErrorSerializer(serializers.Serializer[dict[str, str]]):
    """Every error with one message: the message and a stable code (documents the body)."""

    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable error code.")


def coded_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the exception's code beside ``detail`` ({"detail", "code"})."""
    # DRF answers Django's 404 and 403 as its own NotFound / PermissionDenied; converting
    # them first gives those bodies their code too.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = exception_handler(exc, context)
    if (
        response is not None
        and isinstance(exc, exceptions.APIException)
        and isinstance(response.data, dict)
        and isinstance(exc.detail, str)
    ):
        code = exc.detail.code if isinstance(exc.detail, exceptions.ErrorDetail) else None
        response.data["code"] = code or exc.default_code
    return response
