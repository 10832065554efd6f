"""`TrainConfig`: every setting of a training run in one frozen record, so that the CLI, the Python API and the
benches pass one value instead of a long list of keywords."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any, Optional

from whosthat.core.errors import WhosthatError
from whosthat.models.records import Split
from whosthat.recognition.openset import DEFAULT_MAX_MEMBER_REJECTION

#: The subject when none is given: chosen from the photos (`whosthat.training.subject.choose_subject`).
DEFAULT_SUBJECT = "auto"

#: The head on face embeddings (chosen by bench/accuracy.py), and on ImageNet features, frozen or
#: fine-tuned, where a linear SVM named more test pictures than logistic regression (bench/README.md).
DEFAULT_FACE_HEAD, DEFAULT_IMAGE_HEAD = "logistic", "svm"


@dataclass(frozen=True)
class TrainConfig:
    """The settings of `whosthat.train` (all optional; None: chosen from the photos or the defaults).

    What to recognise: `subject` ("auto", or a name of `whosthat.training.subject.SUBJECTS`), or a `detector`
    and `embedder` by name. The head: `head`, `whiten`, `max_member_rejection` (share of members the stranger
    threshold may call unknown). A network trained end to end first: `finetune` (an architecture), `epochs`,
    `resume`, `workers`. The held-out photos: `test_dir` (a test folder), else `test_fraction` and
    `val_fraction` of each class with `seed`, or a given `split`. `flip`: each face's vector averaged with its
    mirror image's. The embedding cache: `cache_dir` (None: the user's cache folder), `use_cache`. `others`: a
    folder of photos per person of people who are not members, learned as negatives (one more class of the
    head, and strangers the stranger score and threshold are calibrated on; None: none).
    """

    subject: str = DEFAULT_SUBJECT
    detector: Optional[str] = None
    embedder: Optional[str] = None
    head: Optional[str] = None
    whiten: Optional[bool] = None
    max_member_rejection: float = DEFAULT_MAX_MEMBER_REJECTION
    finetune: Optional[str] = None
    epochs: Optional[int] = None
    resume: bool = False
    workers: Optional[int] = None
    test_dir: Optional[str | os.PathLike] = None
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.2
    split: Optional[Split] = None
    flip: bool = False
    cache_dir: Optional[str | os.PathLike] = None
    use_cache: bool = True
    others: Optional[str | os.PathLike] = None

    def with_settings(self, **settings: Any) -> TrainConfig:
        """A copy with these settings changed; an unknown name is one clear error."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise WhosthatError(f"unknown training setting {unknown[0]!r}: the settings are {', '.join(sorted(names))}")
        return TrainConfig(**{**{f.name: getattr(self, f.name) for f in fields(self)}, **settings})
