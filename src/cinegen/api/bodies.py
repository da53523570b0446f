"""Request bodies, read one way for both dialects: at most ``MAX_BODY_BYTES`` long, and JSON
at most ``MAX_JSON_DEPTH`` levels deep, refused in the usual error shape otherwise.

Routes whose body FastAPI reads (the Sora dialect, remix) get this through ``BodyRoute``,
their routers' ``route_class``; routes that read JSON or multipart by hand (``POST
/v1/videos``, edits, extensions) call ``parse_json`` themselves.

Trap: Python's ``json`` recurses once per level. ``[`` x 100 000 raises RecursionError (a 500
where nothing catches it; FastAPI's own reading answers a bare "There was an error parsing
the body"), and a few hundred levels parse but then break whatever walks the value next
(pydantic's serialiser, ``json.dumps`` of an idempotent request). No request nests deeper than
a storyboard shot's crop box (6 levels), so the limit refuses long before either.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive

from cinegen.api.errors import ApiError
from cinegen.api.uploads import MAX_UPLOAD_BYTES

MAX_JSON_DEPTH = 32  # levels of arrays and objects
# The largest upload as base64 in a data: URL (4/3 of its size) beside the text fields (two
# 32 000-character prompts, \u-escaped at 12 bytes a character at worst, fit in 1 MB): any
# request fits, and a body beyond it is refused before it is read to the end.
MAX_BODY_BYTES = MAX_UPLOAD_BYTES * 4 // 3 + (1 << 20)

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_DIGITS = re.compile(r"[0-9]{1,15}")  # ASCII: str.isdigit() also takes "²", which int() refuses


def parse_json(raw: bytes) -> Any:
    """The value a JSON body holds; 400 if it is not JSON, or if it nests deeper than
    ``MAX_JSON_DEPTH`` (naming the top-level field that does)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep(raw) from None
    except ValueError as exc:  # not JSON, not UTF-8, or an integer of over 4300 digits
        raise ApiError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise _too_deep(raw)
    return value


def too_large() -> StarletteHTTPException:
    # An HTTPException, not an ApiError: FastAPI passes these on from its own body reading.
    return StarletteHTTPException(
        413,
        f"the body is larger than {MAX_BODY_BYTES >> 20} MB, more than any request needs "
        f"(a file is at most {MAX_UPLOAD_BYTES >> 20} MB)",
    )


class BodyRoute(APIRoute):
    """A route whose body is refused past ``MAX_BODY_BYTES`` and, when FastAPI is to parse
    it as JSON, parsed by ``parse_json`` first (FastAPI then reuses the value)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        reads_body = self.body_field is not None

        async def checked(request: Request) -> Response:
            declared = request.headers.get("content-length", "")
            if _DIGITS.fullmatch(declared) and int(declared) > MAX_BODY_BYTES:
                raise too_large()  # said at the start: refused before any of it is read
            request = _CheckedRequest(request.scope, _bounded(request.receive))
            if reads_body and _is_json(request.headers.get("content-type")):
                await request.json()  # refused here, before FastAPI's reading
            return await handle(request)

        return checked


class _CheckedRequest(Request):
    """A request whose JSON is parsed by ``parse_json`` (and, as Starlette's, once)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


def _bounded(receive: Receive) -> Receive:
    """``receive``, refusing the body once more than ``MAX_BODY_BYTES`` of it has come (a
    chunked body declares no length)."""
    received = 0

    async def bounded() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > MAX_BODY_BYTES:
            raise too_large()
        return message

    return bounded


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI reads a body of this type as JSON (not one without a type: it is
    strict about that by default)."""
    media = (content_type or "").partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _deeper_than(value: Any, levels: int) -> bool:
    """Whether ``value`` nests more than ``levels`` arrays and objects deep."""
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return False
    if levels == 0:
        return True
    return any(_deeper_than(c, levels - 1) for c in children if isinstance(c, dict | list))


def _too_deep(raw: bytes) -> ApiError:
    field = _deep_field(raw.decode("utf-8", errors="replace"))
    return ApiError(
        400,
        f"{field or 'the body'} nests deeper than {MAX_JSON_DEPTH} levels of arrays and "
        "objects; no request needs more than 6",
        code="invalid_value" if field else "invalid_json",
        param=field,
    )


def _deep_field(text: str) -> str | None:
    """The top-level field of a JSON object whose value nests too deep: each field's value is
    decoded in turn (the whole body cannot be), until one recurses too far or is too deep."""
    at = _skip_space(text, 0)
    if not text.startswith("{", at):
        return None
    at += 1
    while True:
        key: Any = None
        try:
            key, at = _DECODER.raw_decode(text, _skip_space(text, at))
            at = _skip_space(text, at)
            if not isinstance(key, str) or not text.startswith(":", at):
                return None
            value, at = _DECODER.raw_decode(text, _skip_space(text, at + 1))
        except RecursionError:
            return key if isinstance(key, str) else None
        except ValueError:
            return None
        if _deeper_than(value, MAX_JSON_DEPTH - 1):
            return key
        at = _skip_space(text, at)
        if not text.startswith(",", at):
            return None
        at += 1


def _skip_space(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at
