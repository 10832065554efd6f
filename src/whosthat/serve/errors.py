"""`ApiError` and the handlers that answer every error as JSON `{"error": "one line"}`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from whosthat.serve.schemas import ErrorBody


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
    """Answer `ApiError`, HTTP errors (404, 405) and validation errors (422) in the one error format."""

    async def api_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ApiError)
        return error_response(error.status, error.message)

    async def http_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        return error_response(error.status_code, str(error.detail))

    async def validation_error(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return error_response(422, "; ".join(_describe(e) for e in error.errors()))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def _describe(error: dict) -> str:
    """`query parameter threshold: Input should be a valid number` from one pydantic error."""
    where = [str(part) for part in error.get("loc", ())]
    place = f"{where[0]} parameter {'.'.join(where[1:])}" if len(where) > 1 else ".".join(where)
    return f"{place}: {error.get('msg', 'invalid')}"
