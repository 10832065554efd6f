"""The JSON the API answers, as pydantic models: they document the OpenAPI schema and check the answers."""

from __future__ import annotations

from typing import Any, Optional

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
