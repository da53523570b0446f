"""A request body read by hand: JSON or multipart alike, as the official SDK sends either.

The Videos and Characters routes read their bodies themselves (the SDK switches to multipart
when a parameter is a file), so the schema gets their body from ``hand_read_body``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from cinegen.api.bodies import MAX_BODY_BYTES, parse_json
from cinegen.api.errors import ApiError
from cinegen.api.uploads import MAX_UPLOAD_BYTES
from cinegen.errors import excerpt


def hand_read_body(json_model: str, form_model: str) -> dict[str, Any]:
    """A route's request body for the schema when the route reads it by hand."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{json_model}"}},
                "multipart/form-data": {"schema": {"$ref": f"#/components/schemas/{form_model}"}},
            },
        }
    }


async def read_body(
    request: Request, known: set[str], file_param: str
) -> tuple[dict[str, Any], bytes | None]:
    """A JSON or multipart body's fields, and the bytes of the file sent as ``file_param``
    (multipart only). The SDK sends a nested object in a form as ``video[id]``: it arrives
    here as ``{"video": {"id": …}}``, as it would in JSON."""
    content_type = request.headers.get("content-type", "")
    upload: bytes | None = None
    if content_type.startswith("multipart/form-data"):
        # A text field as long as the body may be: an overlong prompt is then refused by
        # name, as in JSON, rather than as an anonymous "part exceeded maximum size".
        form = await request.form(max_part_size=MAX_BODY_BYTES)
        fields: dict[str, Any] = {}
        for key, value in form.multi_items():
            if key == file_param and not isinstance(value, str):
                upload = await value.read(MAX_UPLOAD_BYTES + 1)  # more is refused as too large
            elif isinstance(value, str) and (item := LIST_ITEM.fullmatch(key)):
                _add_list_item(fields, item[1], item[2], value)
            elif isinstance(value, str) and key.endswith("[]"):  # a list: key[] repeated
                listed = fields.setdefault(key[:-2], [])
                if isinstance(listed, list):
                    listed.append(value)
            elif isinstance(value, str) and "[" in key and key.endswith("]"):
                outer, _, inner = key[:-1].partition("[")
                nested = fields.setdefault(outer, {})
                if isinstance(nested, dict):
                    nested[inner] = value
            else:
                fields[key] = value
    else:
        fields = parse_json(await request.body())
        if not isinstance(fields, dict):
            raise ApiError(
                400, "the body must be a JSON object (or multipart/form-data)", code="invalid_json"
            )
    refuse_unknown(fields, known)
    return fields, upload


def refuse_unknown(fields: dict[str, Any], known: set[str]) -> None:
    """A 400 naming the first field not among ``known``, and the known ones."""
    unknown = sorted(set(fields) - known)
    if unknown:
        raise ApiError(
            400,
            f"unknown parameter {excerpt(unknown[0])}; known: {', '.join(sorted(known))}",
            code="unknown_parameter",
            param=unknown[0],
        )


# A list of objects in a form, as the SDK writes it: loras[][name]=a, loras[][scale]=0.8, …
LIST_ITEM = re.compile(r"(\w+)\[\]\[(\w+)\]")


def _add_list_item(fields: dict[str, Any], outer: str, inner: str, value: str) -> None:
    """One ``outer[][inner]`` form field: the k-th ``inner`` belongs to the k-th item.

    Trap: the SDK sends the fields grouped by key (every loras[][name], then every
    loras[][scale]), not item by item; so an item that leaves out a key the others give
    shifts those after it (each item should give every key)."""
    items = fields.setdefault(outer, [])
    if isinstance(items, list):
        k = sum(inner in item for item in items)
        if k == len(items):
            items.append({})
        items[k][inner] = value
