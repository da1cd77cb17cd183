"""The conventions every JSON endpoint shares: errors, methods, bodies, pages.

Bad input is answered with a 4xx and ``{"error": "..."}`` naming what is
wrong, before anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import wraps
from http import HTTPStatus

from django.http import JsonResponse


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, headers: dict | None = None):
    return JsonResponse({"error": message}, status=status, headers=headers)


def endpoint(*methods: str) -> Callable:
    """Accept only these methods (HEAD with GET) and turn ApiError into JSON."""
    allowed = list(methods) + (["HEAD"] if "GET" in methods else [])

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in allowed:
                return error_response(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"{request.method} is not allowed here.",
                    {"Allow": ", ".join(allowed)},
                )
            try:
                return view(request, *args, **kwargs)
            except ApiError as problem:
                return error_response(problem.status, problem.message, problem.headers)

        return wrapper

    return decorator


def read_json(request, required: Iterable[str], optional: Iterable[str] = ()) -> dict:
    """The request's JSON object, with exactly the required fields and no
    others than the optional ones."""
    content_type = request.content_type or "none"
    if content_type != "application/json":
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"Send JSON with Content-Type: application/json, not {content_type}.",
        )
    try:
        data = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, f"The body is not valid JSON: {problem}."
        ) from None
    if not isinstance(data, dict):
        raise ApiError(HTTPStatus.BAD_REQUEST, "The body must be a JSON object.")

    required, optional = set(required), set(optional)
    missing = sorted(required - data.keys())
    if missing:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, f"Missing field(s): {', '.join(missing)}."
        )
    unknown = sorted(data.keys() - required - optional)
    if unknown:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, f"Unknown field(s): {', '.join(unknown)}."
        )
    return data


def page_number(request, name: str = "page") -> int:
    """A 1-based page number from the query string; 1 when absent."""
    raw = request.GET.get(name, "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"{name} must be a whole number from 1, not {raw!r}.",
        )
    return int(raw)
