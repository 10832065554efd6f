"""`serve --index DIR` and `whosthat review DIR`: the /v1/index/review routes, with which the review page fixes a
collection's names; every action is kept as a correction in the index (`whosthat.collection.corrections`).

Reads: members' faces no correction decided (those whose answer would teach the model most first, paged), the
groups of unknown faces, a photo with every face named, face crops, the history of actions. Writes: one
correction of one or more faces (one action, one undo), undo, and learn (the index's model fitted again from the
corrections, written to a new file, and the index named by it: the routes open the index for each request, so
they answer with the new names at once). Each write waits up to WAIT seconds for another writer of the index,
then answers 409. A write that a page of another site makes the browser send is refused (403).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from whosthat.collection.api import Index
from whosthat.collection.corrections import CorrectionError
from whosthat.collection.learn import NothingToLearnError
from whosthat.collection.lock import IndexBusyError
from whosthat.serve import review_data
from whosthat.serve.errors import ApiError
from whosthat.serve.schemas import (
    Action,
    CorrectionRequest,
    ErrorBody,
    History,
    Learned,
    NewFaceRequest,
    PeopleGroups,
    ReviewFace,
    ReviewPhoto,
    ReviewQueue,
)

#: Seconds a write waits for another writer of the index (another request, `whosthat index`) before 409.
WAIT = 5.0
T = TypeVar("T")
HASH = r"^[0-9a-f]{64}$"
JPEG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}, "description": "a JPEG"}}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    reasons = {403: "a write from a page of another site", 404: "no such photo or face in the index",
               409: "the index is being written by another run, or there is nothing to undo",
               422: "a bad name or parameter, or nothing to learn from"}
    return {status: {"model": ErrorBody, "description": reasons[status]} for status in statuses}


async def _answer(function: Callable[..., T], *args: object) -> T:
    """`function(*args)` in a worker thread, what a user can cause answered as one line with its status."""
    try:
        return await anyio.to_thread.run_sync(function, *args)
    except review_data.NotInIndexError as error:
        raise ApiError(404, str(error)) from None
    except IndexBusyError as error:
        raise ApiError(409, str(error)) from None
    except NothingToLearnError as error:
        raise ApiError(422, str(error)) from None
    except CorrectionError as error:
        raise ApiError(422, str(error)) from None


def _same_origin(request: Request) -> None:
    """Refuse a write that a page of another site makes the user's browser send (a form posted to loopback):
    browsers name the page's origin on such a request."""
    origin = request.headers.get("origin")
    if request.method == "POST" and origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise ApiError(403, f"a page of another site ({origin}) may not change the index")


def review_router(directory: Path, learned: Optional[Path] = None) -> APIRouter:
    """The review routes of the index at `directory`; learning writes models into `learned` (default: the
    index's `learned/` folder), each named by the time it was made."""
    router = APIRouter(prefix="/v1/index/review", tags=["review"], dependencies=[Depends(_same_origin)])
    models = learned if learned is not None else Index(directory).directory / "learned"

    @router.get("/faces", response_model=ReviewQueue, responses=_errors(422))
    async def faces(
        name: Annotated[Optional[str], Query(max_length=1000, description="this member's faces only")] = None,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Query(ge=1, le=500)] = 48,
    ) -> ReviewQueue:
        """Faces named as members that no correction decided yet, those whose answer would teach the model most
        first (unsure of member or nobody, between two members, doubted by the collection, alike many)."""
        def read() -> ReviewQueue:
            index = Index(directory)
            if name is not None and name not in index.members:
                raise ApiError(422, f"no member named {name!r} (members: {', '.join(index.members)})")
            found, total = review_data.queue(index, name, offset, limit)
            return ReviewQueue(faces=found, total=total, offset=offset, members=index.members)
        return await _answer(read)

    @router.get("/people", response_model=PeopleGroups, responses=_errors(409))
    async def people() -> PeopleGroups:
        """Groups of unknown faces that look alike (candidate new people), largest first; grouping new faces
        writes the index, so this waits for another writer like a correction does."""
        return PeopleGroups(groups=await _answer(lambda: review_data.people(Index(directory), WAIT)))

    @router.get("/photos/{content_hash}", response_model=ReviewPhoto, responses=_errors(404))
    async def photo(content_hash: Annotated[str, PathParam(pattern=HASH)]) -> ReviewPhoto:
        """A photo of the index with every face, each boxed (in pixels of the photo) and named."""
        return await _answer(lambda: review_data.photo(Index(directory), content_hash))

    @router.post("/photos/{content_hash}/faces", response_model=ReviewFace, responses=_errors(403, 404, 409, 422))
    async def add_face(content_hash: Annotated[str, PathParam(pattern=HASH)], request: NewFaceRequest) -> ReviewFace:
        """Add a face the detector missed: the one in the box drawn on the photo, found and embedded by the
        index's model, as one more face of the photo, confirmed as the name given (one action, one undo of its
        name)."""
        return await _answer(lambda: review_data.add_face(Index(directory), content_hash, request, WAIT))

    @router.get("/photos/{content_hash}/image", response_class=Response, responses={**JPEG, **_errors(404)})
    async def photo_image(content_hash: Annotated[str, PathParam(pattern=HASH)]) -> Response:
        """The photo, at most 800 px, as a JPEG."""
        jpeg = await _answer(lambda: review_data.photo_jpeg(Index(directory), content_hash))
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "max-age=600"})

    @router.get("/faces/{content_hash}/{face}/crop", response_class=Response, responses={**JPEG, **_errors(404)})
    async def crop(content_hash: Annotated[str, PathParam(pattern=HASH)],
                   face: Annotated[int, PathParam(ge=0, le=100_000)]) -> Response:
        """One face of a photo, cut out square, as a JPEG."""
        jpeg = await _answer(lambda: review_data.crop_jpeg(Index(directory), content_hash, face))
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "max-age=600"})

    @router.post("/corrections", response_model=Action, responses=_errors(403, 404, 409, 422))
    async def correct(request: CorrectionRequest) -> Action:
        """Correct one or more faces as one action (one undo): confirm NAME, not NAME, stranger, or move to NAME.
        Naming a group, merging groups, splitting faces out of one and hiding one are such corrections of its
        faces."""
        def write() -> Action:
            index = Index(directory)
            return review_data.actions(index, review_data.correct(index, request, WAIT))[0]
        return await _answer(write)

    @router.get("/history", response_model=History)
    async def history() -> History:
        """Every action of the index, newest first."""
        def read() -> History:
            index = Index(directory)
            return History(actions=review_data.actions(index, index.corrections()))
        return await _answer(read)

    @router.post("/undo", response_model=Action, responses=_errors(403, 409))
    async def undo() -> Action:
        """Take back the last action whole, and say what it was."""
        def write() -> Action:
            index = Index(directory)
            try:
                undone = index.undo(wait=WAIT)
            except CorrectionError as error:  # nothing left to undo
                raise ApiError(409, str(error)) from None
            return review_data.actions(index, undone)[0]
        return await _answer(write)

    @router.post("/learn", response_model=Learned, responses=_errors(403, 409, 422))
    async def learn() -> Learned:
        """Fit the index's model again from every correction, write it into the learned folder, and name the
        index's faces with it (from their stored vectors)."""
        def write() -> Learned:
            index = Index(directory)
            models.mkdir(parents=True, exist_ok=True)
            report = index.learn(review_data.unused(models, time.strftime("%Y%m%d-%H%M%S", time.gmtime())),
                                 wait=WAIT)
            return Learned(model_file=str(report.model_file), confirmed=report.confirmed, nobody=report.nobody,
                           new_members=list(report.new_members), seconds=round(report.seconds, 2),
                           relabelled=report.run.relabelled, members=index.members)
        return await _answer(write)

    return router
