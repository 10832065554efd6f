"""The JSON the API answers, as pydantic models: they document the OpenAPI schema and check the answers."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, Field


class FaceResult(BaseModel):
    """One face, as `Prediction.to_dict()` gives it (the face object of `whosthat predict --json`)."""

    box: list[float] = Field(min_length=4, max_length=4, description="x1, y1, x2, y2 in pixels of the upright image")
    detection_score: float = Field(description="the detector's confidence, 0 to 1")
    label: str = Field(description="a member's name, or 'unknown'")
    confidence: float = Field(description="probability of the label; for 'unknown', 1 minus the best probability")
    probabilities: dict[str, float] = Field(description="every member's probability")


class ImageResult(BaseModel):
    """Every face of one photo: the object `whosthat predict --json` prints, plus the annotated photo if asked."""

    image: str = Field(description="the uploaded file's name, or 'upload' for a raw body")
    width: int
    height: int
    faces: list[FaceResult] = Field(description="largest face first")
    error: Optional[str] = Field(None, description="always null here: unreadable images get an error status")
    annotated: Optional[str] = Field(None, description="with annotate=true: the photo with boxes and names, "
                                                       "as a data:image/jpeg;base64 URL")


class Member(BaseModel):
    """One member the model knows, with where to get a face of theirs."""

    name: str
    thumbnail: Optional[str] = Field(description="URL of a face from a training photo; null when none is on disk")


class ModelInfo(BaseModel):
    """What the served model is: members, pipeline, stranger threshold, test figures."""

    version: str = Field(description="whosthat version that trained the model")
    classes: list[str]
    members: list[Member]
    pipeline: dict[str, Any] = Field(description="detector, embedder and head with their settings")
    weights: dict[str, Any] = Field(description="weight package versions the model was trained with")
    threshold: float = Field(description="calibrated stranger threshold (on the stranger score, a log-odds that "
                                         "a face is a member)")
    metrics: Optional[dict[str, Any]] = Field(description="test figures from training; null without a test split")
    index: bool = Field(False, description="whether the service holds a collection index (serve --index): then "
                                           "/v1/index and /v1/index/find answer")


class Health(BaseModel):
    """The service is up and its model loaded."""

    status: str = "ok"
    classes: int


class ErrorBody(BaseModel):
    """Every error answer: one line saying what went wrong."""

    error: str


class FaceRef(BaseModel):
    """One face of the index: its photo's content hash and its number in the photo (0: the largest)."""

    photo: str = Field(description="the photo's content hash (SHA-256, hex), as the review routes give it")
    face: int = Field(ge=0, le=100_000)


class ReviewFace(BaseModel):
    """A face to review: where it is, the name it has now (corrections applied) and how sure the model was."""

    photo: str = Field(description="the photo's content hash")
    path: str = Field(description="the photo's path in the collection")
    face: int
    box: list[float] = Field(description="x1, y1, x2, y2 in pixels of the upright photo")
    label: str = Field(description="a member's name, a name a correction gave, or 'unknown'")
    confidence: float = Field(description="the probability of the label (1 once a correction decided it)")
    corrected: bool = Field(description="whether a correction decided this face's name")
    crop: str = Field(description="URL of a JPEG of the face")
    reason: Optional[str] = Field(None, description="in the queue: why it is asked (near the threshold, between two "
                                                    "members, doubted by the collection)")


class ReviewQueue(BaseModel):
    """A page of members' faces that no correction decided yet, those whose answer teaches the model most first."""

    faces: list[ReviewFace]
    total: int = Field(description="faces in the whole queue")
    offset: int
    members: list[str] = Field(description="the names the index's model gives")


class PeopleGroup(BaseModel):
    """A candidate new person: faces named nobody of the group that look alike, the most central first."""

    person: str = Field(description="the group's label, e.g. person_001")
    faces: list[ReviewFace]


class PeopleGroups(BaseModel):
    """The groups of unknown faces no correction decided yet, largest first."""

    groups: list[PeopleGroup]


class ReviewPhoto(BaseModel):
    """A photo of the index with every face, each boxed and named."""

    photo: str
    path: str
    width: int
    height: int
    image: str = Field(description="URL of the photo as a JPEG, at most 800 px")
    faces: list[ReviewFace]


class CorrectionRequest(BaseModel):
    """One correction of one or more faces, kept as one action (one undo).

    kind: `confirm` (the faces are `name`), `not` (they are not `name`), `stranger` (nobody of the group) or
    `move` (they are `name`, and not the name they have now)."""

    kind: Literal["confirm", "not", "stranger", "move"]
    faces: list[FaceRef] = Field(min_length=1, max_length=1000)
    name: Optional[str] = Field(None, max_length=1000, description="the name, for every kind but stranger")


class NewFaceRequest(BaseModel):
    """A face the detector missed: the box a user drew around it (x, y, width, height in pixels of the upright
    photo) and who it is."""

    box: list[float] = Field(min_length=4, max_length=4, description="x, y, width, height in pixels of the photo")
    name: str = Field(max_length=1000, description="a member, or a new person")


class CorrectionOut(BaseModel):
    """One row of the index's corrections."""

    id: int
    action: int
    photo: str
    path: Optional[str] = Field(description="the photo's path in the collection; null when no longer indexed")
    face: int
    kind: str
    name: str
    time: str


class Action(BaseModel):
    """One action of the history: the corrections it made, `said` in words."""

    action: int
    time: str
    said: str = Field(description="e.g. 'confirm jennie_kim (3 faces)'")
    corrections: list[CorrectionOut]


class History(BaseModel):
    """Every action of the index, newest first."""

    actions: list[Action]


class Learned(BaseModel):
    """What learning from the corrections did: the new model and what it learned; the index is named by it."""

    model_file: str
    confirmed: dict[str, int] = Field(description="faces learned per name")
    nobody: int = Field(description="faces learned as nobody of the group")
    new_members: list[str]
    seconds: float
    relabelled: int = Field(description="photos whose names the new model gave")
    members: list[str] = Field(description="the members of the new model")
