"""`create_app`: the FastAPI application that serves one model (REST API, OpenAPI docs and the page)."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Optional, TypeVar
from urllib.parse import quote

import anyio
import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from whosthat.core.errors import ImageError, ImageTooLargeError
from whosthat.models.protocol import Namer
from whosthat.recognition.prediction import Predictions
from whosthat.serve.errors import ApiError, install_error_handlers
from whosthat.serve.index_routes import index_router
from whosthat.serve.limits import Limits
from whosthat.serve.review_routes import review_router
from whosthat.serve.schemas import ErrorBody, Health, ImageResult, Member, ModelInfo
from whosthat.serve.thumbnails import Thumbnails
from whosthat.serve.upload import FIELD, read_upload
from whosthat.version import __version__
from whosthat.vision.face import Face
from whosthat.vision.images import load_image
from whosthat.vision.weights import installed_versions

STATIC = Path(__file__).parent / "static"
T = TypeVar("T")

_IMAGE_BODY = {"schema": {"type": "string", "format": "binary"}}
#: The request body of /v1/predict, described by hand because the handler reads the stream itself.
PREDICT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": [FIELD],
                                           "properties": {FIELD: {"type": "string", "format": "binary"}}}},
        "image/jpeg": _IMAGE_BODY, "image/png": _IMAGE_BODY, "image/webp": _IMAGE_BODY,
        "application/octet-stream": _IMAGE_BODY,
    },
}


def _errors(*statuses: int) -> dict:
    reasons = {404: "no such member, or no photo of theirs on disk", 413: "body or image too large",
               415: "not an image whosthat can read (or a broken, truncated one)",
               422: "missing field, empty body or bad parameter"}
    return {status: {"model": ErrorBody, "description": reasons[status]} for status in statuses}


def create_app(model: Namer, limits: Optional[Limits] = None, index: Optional[Path] = None,
               learned: Optional[Path] = None) -> FastAPI:
    """The service for one loaded model; recognition runs in worker threads, `limits.recognitions` at a time.
    With `index` (a collection index folder) it also answers /v1/index (`whosthat.serve.index_routes`), and
    /v1/index/review with the review page at /review (`whosthat.serve.review_routes`; models it learns go into
    `learned`, by default the index's learned/ folder).

    Its lifespan loads the weights and sets up the worker limit: serve it with uvicorn, or in tests
    with `with TestClient(app)`.
    """
    limits = limits or Limits()
    thumbnails = Thumbnails(model)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict]:
        await anyio.to_thread.run_sync(_warm_up, model)
        yield {"recognitions": anyio.CapacityLimiter(limits.recognitions)}  # per server: limiters belong to a loop

    app = FastAPIOffline(
        title="whosthat", version=__version__, lifespan=lifespan,
        description="Names every face in a photo with the members of the group the model learned. "
                    'Every error is answered as JSON `{"error": "..."}` with its status.')
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def run(request: Request, function: Callable[..., T], *args: object) -> T:
        return await anyio.to_thread.run_sync(function, *args, limiter=request.state.recognitions)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/healthz", response_model=Health, tags=["service"])
    async def healthz() -> Health:
        """The service is up and its model is loaded."""
        return Health(classes=len(model.classes))

    @app.get("/v1/model", response_model=ModelInfo, tags=["model"])
    async def model_info() -> ModelInfo:
        """The members, pipeline, stranger threshold and test figures of the served model."""
        members = [Member(name=name, thumbnail=f"/v1/members/{quote(name)}/thumbnail"
                          if thumbnails.available(name) else None) for name in model.classes]
        return ModelInfo(version=__version__, classes=model.classes, members=members, pipeline=model.pipeline(),
                         weights=installed_versions(), threshold=model.threshold,
                         metrics=model.test.metrics.to_dict() if model.test is not None else None,
                         index=index is not None)

    @app.get("/v1/members/{name}/thumbnail", tags=["model"], response_class=Response, responses={
        200: {"content": {"image/jpeg": {}}, "description": "a JPEG face from a training photo"}, **_errors(404)})
    async def thumbnail(request: Request, name: str) -> Response:
        """A face of the member from one of the model's training photos (404 when none is on disk)."""
        if name not in model.classes:
            raise ApiError(404, f"no member named {name!r} (members: {', '.join(model.classes)})")
        jpeg = await run(request, thumbnails.get, name)
        if jpeg is None:
            raise ApiError(404, f"no training photo of {name} with one face is on disk")
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @app.post("/v1/predict", response_model=ImageResult, tags=["recognition"], openapi_extra={
        "requestBody": PREDICT_BODY}, responses=_errors(413, 415, 422))
    async def predict(
        request: Request,
        threshold: Annotated[Optional[float], Query(
            allow_inf_nan=False, description="stranger threshold instead of the calibrated one "
                                             "(a log-odds; higher: more faces unknown)")] = None,
        annotate: Annotated[bool, Query(description="add the photo with boxes and names as a JPEG data URL")] = False,
    ) -> ImageResult:
        """Every face in the uploaded photo with its name, as `whosthat predict --json` prints it.

        Send the image as the multipart field `file` or as the raw body (image/* or application/octet-stream).
        """
        upload = await read_upload(request, limits.max_bytes)
        result, annotated = await run(request, _recognise, model, upload.data, limits.max_pixels, threshold, annotate)
        return ImageResult(**{**result.to_dict(), "image": upload.name}, annotated=annotated)

    if index is not None:
        app.include_router(index_router(Path(index)))
        app.include_router(review_router(Path(index), learned))

        @app.get("/review", include_in_schema=False)
        async def review_page() -> FileResponse:
            return FileResponse(STATIC / "review.html")
    return app


def _recognise(model: Namer, data: bytes, max_pixels: int, threshold: Optional[float],
               annotate: bool) -> tuple[Predictions, Optional[str]]:
    """Decode and name the faces (in a worker thread); `ApiError` 413 or 415 when the image cannot be read."""
    try:
        image = load_image(data, max_pixels=max_pixels)
    except ImageError as error:
        raise ApiError(413 if isinstance(error, ImageTooLargeError) else 415, error.reason) from None
    result = model.predict(image, threshold=threshold)
    if not annotate:
        return result, None
    buffer = io.BytesIO()
    result.annotate().save(buffer, format="JPEG", quality=88)
    return result, "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _warm_up(model: Namer) -> None:
    """Build the detector and embedder and load their weights once, before requests share them."""
    extractor = model.extractor()
    blank = np.full((160, 160, 3), 128, np.uint8)
    extractor.detector.detect(blank)
    extractor.embedder.embed(extractor.embedder.chips(blank, [Face.whole_image(160, 160)]))
