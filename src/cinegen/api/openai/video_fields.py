"""The Videos API's request fields, each read and checked as this dialect names it:
``seconds`` and ``size`` arrive as strings, a JSON ``input_reference`` as a data URL."""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any

from cinegen.api.errors import ApiError
from cinegen.api.uploads import decode_data_url
from cinegen.errors import excerpt
from cinegen.limits import MAX_SECONDS


def reference_image_of(reference: Any) -> bytes:
    """The image bytes of a JSON ``input_reference``: ``{"image_url": "data:…"}``."""
    if not isinstance(reference, dict) or not isinstance(reference.get("image_url"), str):
        raise ApiError(
            400,
            'input_reference must be {"image_url": "data:image/png;base64,…"} (or an image '
            "file in a multipart body); file_id is not supported here",
            code="invalid_value",
            param="input_reference",
        )
    return decode_data_url(reference["image_url"], "input_reference")


def text_of(fields: dict[str, Any], name: str, default: str) -> str:
    """The text field ``name``, ``default`` when the request left it out (or empty)."""
    value = chosen(fields, name).get(name, default)
    if not isinstance(value, str):
        raise ApiError(
            400,
            f"{name} must be a string (got {excerpt(value)})",
            code="invalid_value",
            param=name,
        )
    return value


def required_text(fields: dict[str, Any], name: str, meaning: str) -> str:
    """The text field ``name``, or a 400 saying it is required and what it is for."""
    value = fields.get(name)
    if not isinstance(value, str):
        raise ApiError(
            400,
            f"{name} is required: {meaning}",
            code="missing_required_parameter",
            param=name,
        )
    return value


def prompt_of(fields: dict[str, Any]) -> str:
    return required_text(fields, "prompt", "a text describing the video")


def chosen(fields: dict[str, Any], name: str) -> dict[str, Any]:
    """``{name: value}`` when the request gave one, else nothing (the source's holds)."""
    value = fields.get(name)
    return {} if value is None or value == "" else {name: value}


# ASCII digits only: str.isdigit() also takes "¹²⁸", which int() refuses. Five digits are
# more than any side can be, and keep int() cheap.
SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")


def size_of(text: str) -> tuple[int, int]:
    match = SIZE.fullmatch(text.lower())
    if match is None:
        raise ApiError(
            400,
            f"size must be WIDTHxHEIGHT in pixels, e.g. 1280x720 (got {excerpt(text)})",
            code="invalid_value",
            param="size",
        )
    return int(match[1]), int(match[2])


def seconds_of(value: Any) -> float:
    """``seconds`` as a string ("4", as the SDK sends it) or a number, never true or false.

    Trap: past MAX_SECONDS it is refused here, not left to the spec's length check: the frame
    count is worked out first, and ``"1e308"`` seconds overflows it."""
    seconds = math.nan
    if isinstance(value, str) and value.isascii():  # float() reads "٤" too; as size, ASCII
        with contextlib.suppress(ValueError):
            seconds = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an integer of 400 digits
            seconds = float(value)
    if not 0 < seconds <= MAX_SECONDS:  # NaN fails this too
        raise ApiError(
            400,
            f'seconds must be a number over 0 and at most {MAX_SECONDS:g}, e.g. "4" '
            f"(got {excerpt(value)})",
            code="invalid_value",
            param="seconds",
        )
    return seconds
