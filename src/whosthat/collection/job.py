"""What an engine is given to recognise (`EngineJob`), what every engine offers (`Engine`), and the engines by name
(`ENGINES`, whose names are known before `whosthat.collection.engines` loads the models)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Protocol

from whosthat.core.registry import Registry

if TYPE_CHECKING:
    import pyarrow as pa

    from whosthat.collection.recognition import LoadedModel
    from whosthat.collection.scan import PhotoFile


@dataclass(frozen=True)
class EngineJob:
    """What to recognise and how: the photos, the model and its embedding size, the cache folder (None: no
    cache), photos per commit, and a callback told of every photo done."""

    model: LoadedModel
    dim: int
    photos: Sequence[PhotoFile]
    cache_dir: Optional[Path]
    batch: int
    progress: Optional[Callable[[int], None]] = None


class Engine(Protocol):
    """Recognises photos and yields them as Arrow tables of a row per photo (`rows.recognised_table`): the
    indexer commits each table, so a run stopped midway loses at most one."""

    name: str

    def recognise(self, job: EngineJob) -> Iterator[pa.Table]: ...


ENGINES: Registry[Engine] = Registry("engine", {"local": "whosthat.collection.engines",
                                                "ray": "whosthat.collection.engines"})
