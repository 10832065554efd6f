"""Read an uploaded image from a request (multipart field `file`, or the raw body) within a size limit."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from whosthat.serve.errors import ApiError

#: Name given to an image sent as the raw request body.
RAW_NAME = "upload"
#: The multipart field that carries the image.
FIELD = "file"


@dataclass(frozen=True)
class Upload:
    """The image's bytes and the name it came with."""

    name: str
    data: bytes


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """The uploaded image; `ApiError` 413 as soon as the body passes max_bytes, 422 for a missing field,
    a malformed form or an empty body. Any body but a multipart form is the image itself, whatever
    its content type says (`curl --data-binary` sends photos as form-urlencoded)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    body = _limited(request, max_bytes)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        upload = await _from_form(request, body)
    else:
        upload = Upload(RAW_NAME, b"".join([chunk async for chunk in body]))
    if not upload.data:
        raise ApiError(422, f"{upload.name}: empty file" if upload.name != RAW_NAME else "empty request body")
    return upload


async def _from_form(request: Request, body: AsyncGenerator[bytes, None]) -> Upload:
    parser = MultiPartParser(request.headers, body, max_files=1, max_fields=16)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise ApiError(422, f"malformed multipart form: {error.message}") from None
    try:
        field = form.get(FIELD)
        if not isinstance(field, UploadFile):
            raise ApiError(422, f"the form has no file field '{FIELD}' (send the image as {FIELD}=@photo.jpg)")
        return Upload(field.filename or RAW_NAME, await field.read())
    finally:
        await form.close()


async def _limited(request: Request, max_bytes: int) -> AsyncGenerator[bytes, None]:
    """The body's chunks, stopping with 413 as soon as more than max_bytes have arrived (408 when it stops short)."""
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise _too_large(max_bytes)
            yield chunk
    except ClientDisconnect:  # the client went away, or the server closed a stalled upload
        raise ApiError(408, "the request body stopped before its end") from None


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"request body is over the limit of {max_bytes:,} bytes")
