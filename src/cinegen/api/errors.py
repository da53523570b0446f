"""Errors in the OpenAI shape, ``{"error": {message, type, param, code}}``, for both dialects.

Every refusal is an ``ApiError`` (or a ``SpecError`` / request validation error, mapped here)
with a status, a message that says what to change, the request field it concerns and a
machine-readable code. A task that is not the caller's is a 404 exactly like one that does
not exist: the answer never confirms another account's ids. An answer stays short whatever
the request held: values are quoted as excerpts (``cinegen.errors.excerpt``), and a message
or ``param`` built from a long input is cut.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from cinegen.errors import SpecError, excerpt

# The error ``type`` of each status, as OpenAI names them.
TYPES = {
    **dict.fromkeys((400, 401, 404, 409, 413), "invalid_request_error"),
    403: "permission_error",
    429: "rate_limit_error",
    501: "not_implemented_error",
    503: "server_error",
}


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str


class ErrorBody(BaseModel):
    """Every refusal, in both dialects."""

    error: ErrorDetail


# Declared on every router, so that /openapi.json lists the refusals the server really gives.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "A field is wrong; `param` names it",
        401: "No API key, or an unknown or revoked one",
        403: "Needs an admin key",
        404: "No such id for this account",
        409: "Not in a state that allows this",
        413: "Upload too large",
        429: "A limit is reached; see Retry-After",
        501: "Not available on this server yet",
        503: "Access suspended by the operator; see Retry-After",
    }.items()
}
# The same refusals for routes whose own answers are not JSON (HTML pages): their errors
# are JSON all the same, which the schema must say in so many words.
JSON_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": entry["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, entry in ERROR_RESPONSES.items()
}


# The most of a message and of a ``param`` an answer carries. Every message the server writes
# fits with room to spare; only one that quotes a long input (a field named by a 1 MB key, an
# id of any length) reaches these, and loses its tail rather than growing the answer.
MAX_MESSAGE_CHARS = 1000
MAX_PARAM_CHARS = 100


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        message = _cut(message, MAX_MESSAGE_CHARS)
        param = None if param is None else _cut(param, MAX_PARAM_CHARS)
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error_type = TYPES.get(
            self.status, "server_error" if self.status >= 500 else "invalid_request_error"
        )
        return {
            "error": {
                "message": self.message,
                "type": error_type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"no {kind} with id {excerpt(ident)}", code="not_found", param="id")


def from_spec_error(exc: SpecError, rename: dict[str, str] | None = None) -> ApiError:
    """A spec field named in the dialect's own words (``n_frames`` -> ``seconds``): the whole
    field's name if ``rename`` has it, else its first part's."""
    rename = rename or {}
    param = rename.get(exc.field) or rename.get(exc.field.split(".")[0], exc.field)
    message = str(exc) if param == exc.field else f"{param} ({exc!s})"
    return ApiError(400, message, code="invalid_value", param=param)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(SpecError)
    async def _spec_error(request: Request, exc: SpecError) -> JSONResponse:
        return from_spec_error(exc).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":  # its loc is a character offset, not a field
            error = first.get("ctx", {}).get("error", "")
            return ApiError(
                400, f"the body is not valid JSON: {error}", code="invalid_json"
            ).response()
        location = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        param = ".".join(location) or None
        reason = str(first.get("msg")).removeprefix("Value error, ")
        message = f"{param}: {reason}" if param else reason
        return ApiError(400, message, code="invalid_value", param=param).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "http_error"
        )
        return ApiError(exc.status_code, str(exc.detail), code=code).response()
