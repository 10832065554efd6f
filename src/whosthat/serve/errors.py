"""`ApiError` and the handlers that answer every error as JSON `{"error": "one line"}`, unexpected ones included."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from whosthat.core.errors import WhosthatError, one_line
from whosthat.serve.schemas import ErrorBody

#: The status of a `WhosthatError` no route turned into an `ApiError`: the request was fine, but what the
#: service answers from (its index, a file it reads) cannot be used now.
UNAVAILABLE = 503


class ApiError(Exception):
    """A request the service cannot answer: an HTTP status and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> JSONResponse:
    """The JSON body every error gets."""
    return JSONResponse(ErrorBody(error=message).model_dump(), status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Answer `ApiError`, HTTP errors (404, 405), validation errors (422), any other `WhosthatError` (503) and
    any other exception (500, and logged with its traceback by the server, as a bug) in the one error format."""

    async def api_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error.status, error.message)

    async def http_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        return error_response(error.status_code, str(error.detail))

    async def validation_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return error_response(422, "; ".join(_describe(e) for e in error.errors()))

    async def whosthat_error(_: Request, error: Exception) -> JSONResponse:
        return error_response(UNAVAILABLE, one_line(error, 500))

    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        return error_response(500, f"internal error ({type(error).__name__}: {one_line(error)})")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(WhosthatError, whosthat_error)
    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def _describe(error: dict) -> str:
    """`query parameter threshold: Input should be a valid number` from one pydantic error."""
    where = [str(part) for part in error.get("loc", ())]
    place = f"{where[0]} parameter {'.'.join(where[1:])}" if len(where) > 1 else ".".join(where)
    return f"{place}: {error.get('msg', 'invalid')}"
