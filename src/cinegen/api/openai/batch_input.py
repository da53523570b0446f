"""A batch's input file read as requests: JSONL, one ``{custom_id, method, url, body}`` a
line, as OpenAI's Batch API takes them. A file with any line that is not one is refused whole
(as OpenAI's is), each such line named in the batch's ``errors`` with what it should be."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cinegen.api.errors import ApiError
from cinegen.errors import excerpt

LINE_FIELDS = ("custom_id", "method", "url", "body")
METHODS = ("POST",)
MAX_LINES = 5000
MAX_CUSTOM_ID = 512
MAX_ERRORS = 100  # of a refused input file's lines, listed in the batch's errors


@dataclass(frozen=True)
class Line:
    number: int
    custom_id: str
    body: dict[str, Any]


def _bad(message: str, param: str | None) -> ApiError:
    return ApiError(400, message, code="invalid_request", param=param)


def line_error(number: int | None, param: str | None, message: str) -> dict[str, Any]:
    """An entry of a batch's ``errors`` (the SDK's BatchError)."""
    return {"code": "invalid_request", "line": number, "message": message, "param": param}


def read_lines(data: bytes, endpoint: str) -> tuple[list[Line], list[dict[str, Any]]]:
    """The requests of a JSONL file, and an error for each line that is not one (an input
    file with any such line is refused whole, as OpenAI's is: nothing of it is queued)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], [line_error(None, None, "the input file must be UTF-8 text, one JSON a line")]
    lines: list[Line] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    # Trap: not str.splitlines(), which also splits at U+2028 and other breaks that a JSON
    # string may hold as they are.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            line = _line(number, raw, endpoint, seen)
        except ApiError as exc:
            errors.append(line_error(number, exc.param, f"line {number}: {exc.message}"))
            continue
        seen.add(line.custom_id)
        lines.append(line)
    if not lines and not errors:
        errors.append(line_error(None, None, "the input file holds no requests"))
    if len(lines) > MAX_LINES:
        errors.append(line_error(None, None, f"at most {MAX_LINES} requests a batch"))
    return lines, errors[:MAX_ERRORS]


def _line(number: int, raw: str, endpoint: str, seen: set[str]) -> Line:
    """One line as ``{custom_id, method, url, body}``, or an ApiError naming what is wrong."""
    try:
        item = json.loads(raw)
    except ValueError as exc:
        raise _bad(f"not JSON ({exc})", None) from None
    if not isinstance(item, dict):
        raise _bad(f"must be a JSON object with {', '.join(LINE_FIELDS)}", None)
    unknown = sorted(set(item) - set(LINE_FIELDS))
    if unknown:
        message = f"unknown field {excerpt(unknown[0])}; known: {', '.join(LINE_FIELDS)}"
        raise _bad(message, unknown[0])
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not 0 < len(custom_id) <= MAX_CUSTOM_ID:
        message = f"custom_id must be a string of 1 to {MAX_CUSTOM_ID} characters, unique"
        raise _bad(message, "custom_id")
    if custom_id in seen:
        message = f"custom_id {excerpt(custom_id)} is used by an earlier line; make each unique"
        raise _bad(message, "custom_id")
    if item.get("method") not in METHODS:
        message = f"method must be one of: {', '.join(METHODS)} (got {excerpt(item.get('method'))})"
        raise _bad(message, "method")
    if item.get("url") != endpoint:
        message = f"url must be the batch's endpoint, {endpoint} (got {excerpt(item.get('url'))})"
        raise _bad(message, "url")
    if not isinstance(item.get("body"), dict):
        message = "body must be a JSON object: the request as POST /v1/videos takes it"
        raise _bad(message, "body")
    return Line(number, custom_id, item["body"])
