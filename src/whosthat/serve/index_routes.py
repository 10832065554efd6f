"""`serve --index DIR`: the collection index's questions over HTTP (what it holds, `find`, photo thumbnails).

The index is opened once and kept open; a request finds it opened again when anything was committed to it
since (`store.written_state`), so a `whosthat index` run that updates it meanwhile is seen at its next commit,
and an index removed or damaged meanwhile is answered 503 with its one-line error.
Photos are served only by the content hash the index gives them: no path from a request ever reaches the
file system.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from whosthat.collection.api import Index
from whosthat.collection.find import DEFAULT_UNSURE_BELOW, Hit
from whosthat.collection.schema import IndexFileError, IndexWriteError
from whosthat.collection.store import locate, sql_text, written_state
from whosthat.core.errors import WhosthatError
from whosthat.report.images import boxed_thumbnail, open_photo
from whosthat.serve.errors import ApiError
from whosthat.serve.schemas import ErrorBody

#: Longer side of a photo thumbnail, in pixels.
THUMBNAIL = 320
HASH = re.compile(r"[0-9a-f]{64}")


class IndexSummary(BaseModel):
    """What the served index holds."""

    collection: str
    photos: int
    faces: int
    unreadable: int
    members: list[str] = Field(description="the names its model gives (and 'unknown')")
    faces_per_name: dict[str, int]
    model: str = Field(description="the model file that named the faces")
    labelled: str = Field(description="when they were named (UTC)")


class IndexFace(BaseModel):
    """A face of a photo found: which face, its box (pixels of the photo), its name and that name's probability."""

    face: int
    box: list[float]
    label: str
    confidence: float


class IndexHit(BaseModel):
    """A photo found, with the faces that made it a hit and a thumbnail URL with those faces boxed."""

    path: str = Field(description="the photo's path in the collection")
    score: float = Field(description="the lowest probability of the names asked for")
    faces: list[IndexFace]
    thumbnail: str


class FindResult(BaseModel):
    """The photos found, best first."""

    hits: list[IndexHit]


class OpenIndex:
    """The index at a folder, opened once and opened again when a commit changed it since (its `written_state`),
    for every request of a server (its threads share it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._state: tuple[tuple[str, ...], ...] = ()
        self._index: Optional[Index] = None

    def get(self) -> Index:
        """The index as it is now: the one kept, or opened again (the state is read first: a commit meanwhile
        makes the next request open it again)."""
        state = written_state(locate(self.directory))
        with self._lock:
            if self._index is None or state != self._state:
                self._index = Index(self.directory)
                self._state = state
            return self._index


def index_router(directory: Path) -> APIRouter:
    """The /v1/index routes for the index at `directory` (an index folder, or a collection holding one); raises
    `WhosthatError` at once when it is not an index."""
    opened = OpenIndex(directory)
    opened.get()
    router = APIRouter(prefix="/v1/index", tags=["index"])
    errors: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "no such photo in the index"},
              422: {"model": ErrorBody, "description": "an unknown name or a bad parameter"}}

    @router.get("", response_model=IndexSummary)
    async def summary() -> IndexSummary:
        """What the index holds: photos, faces per name, the model that named them."""
        found = (await anyio.to_thread.run_sync(lambda: opened.get().summary())).to_dict()
        return IndexSummary(collection=found["collection"], photos=found["photos"], faces=found["faces"],
                            unreadable=found["unreadable"], members=found["members"],
                            faces_per_name=found["faces_per_name"], model=found["model"], labelled=found["labelled"])

    @router.get("/find", response_model=FindResult, responses=errors)
    async def find(
        name: Annotated[Optional[str], Query(description="photos where this member is named (or 'unknown')")] = None,
        also: Annotated[list[str], Query(alias="with", description="and this member too (repeatable)")] = [],  # noqa: B006
        unsure: Annotated[bool, Query(description="names given with low probability, least sure first")] = False,
        below: Annotated[float, Query(ge=0, le=1, description="with unsure: the probability under which")] =
            DEFAULT_UNSURE_BELOW,
        limit: Annotated[int, Query(ge=1, le=500)] = 48,
    ) -> FindResult:
        """Photos of the collection where members are named, most confident first (`whosthat find`)."""
        if also and not name:
            raise ApiError(422, "with goes with name (photos where both are named)")
        names = [name, *also] if name else []
        if not names and not unsure:
            raise ApiError(422, "say what to find: name (and with), or unsure")
        try:
            hits = await anyio.to_thread.run_sync(
                lambda: opened.get().find(names, unsure=unsure, below=below, limit=limit))
        except (IndexFileError, IndexWriteError):
            raise  # the index's fault, not the question's: answered 503 (`whosthat.serve.errors`)
        except WhosthatError as error:
            raise ApiError(422, str(error)) from None
        return FindResult(hits=[_hit(h) for h in hits])

    @router.get("/photos/{content_hash}/thumbnail", response_class=Response, responses={
        200: {"content": {"image/jpeg": {}}, "description": "the photo, small, the faces asked for boxed"}, **errors})
    async def thumbnail(content_hash: str, faces: Annotated[list[int], Query(alias="face")] = []  # noqa: B006
                        ) -> Response:
        """A photo of the index by its content hash, at most 320 px, with the given faces boxed."""
        if not HASH.fullmatch(content_hash):
            raise ApiError(404, "no photo of the index has that content hash")
        jpeg = await anyio.to_thread.run_sync(_thumbnail, opened.get, content_hash, faces)
        if jpeg is None:
            raise ApiError(404, "no photo of the index has that content hash, or it is no longer on disk")
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "max-age=600"})

    return router


def _hit(hit: Hit) -> IndexHit:
    faces = [IndexFace(**f.to_dict()) for f in hit.faces]
    query = "&".join(f"face={f.face}" for f in hit.faces)
    return IndexHit(path=hit.name, score=round(hit.score, 4), faces=faces,
                    thumbnail=f"/v1/index/photos/{quote(hit.content_hash)}/thumbnail?{query}")


def _thumbnail(index: Callable[[], Index], content_hash: str, faces: list[int]) -> Optional[bytes]:
    opened = index()
    photos = opened.store.photos(["path"], f"content_hash = {sql_text(content_hash)}")["path"].to_pylist()
    if not photos:
        return None
    image = open_photo(opened.collection / photos[0])
    if image is None:
        return None
    rows = opened.store.scan(["face", "box"], f"path = {sql_text(photos[0])}").to_pylist()
    boxes = [r["box"] for r in rows if r["face"] in faces]
    buffer = io.BytesIO()
    boxed_thumbnail(image, boxes, THUMBNAIL).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
