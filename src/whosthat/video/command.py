"""`whosthat predict MODEL clip.mp4`: one video's timeline printed (summary table or JSON), its annotated copy."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from whosthat.video.annotated import write_annotated
from whosthat.video.defaults import DEFAULT_EVERY
from whosthat.video.predict import Progress, predict_video
from whosthat.video.reader import VideoError
from whosthat.video.timeline import Timeline

if TYPE_CHECKING:
    from whosthat.models.protocol import Namer


def predict_video_command(model: Namer, path: Path, *, every: int = DEFAULT_EVERY, threshold: Optional[float] = None,
                          json_output: bool = False, annotate: Optional[Path] = None,
                          progress: Optional[Progress] = None) -> bool:
    """Name the faces of one video and print its summary table, or with `json_output` its JSON object (one
    line); with `annotate`, write `annotate/<stem>.mp4`. A video that cannot be read gets one error line on
    stderr (and its JSON object with "error" set) and False is returned, so the run goes on with the others.
    `progress`: as `predict_video`'s; by default a bar of frames on stderr when it is a terminal."""
    try:
        result = predict_video(model, path, every=every, threshold=threshold, progress=progress or frame_bar)
    except VideoError as error:
        if json_output:
            print(json.dumps(Timeline.failed(str(path), str(error)).to_dict(), ensure_ascii=False), flush=True)
        print(f"whosthat: error: {error}", file=sys.stderr)
        return False
    print(json.dumps(result.to_dict(), ensure_ascii=False) if json_output else result.format_summary(), flush=True)
    if annotate is not None:
        try:
            write_annotated(result, annotate / f"{path.stem}.mp4")
        except (VideoError, OSError) as error:
            print(f"whosthat: error: {path}: the annotated copy could not be written: {error}", file=sys.stderr)
            return False
    return True


def frame_bar(label: str, total: int) -> Callable[[int], None]:
    """A progress bar of decoded frames on stderr (shown only on a terminal); returns its advance(n)."""
    from tqdm import tqdm

    bar = tqdm(total=total or None, desc=label, unit="frame", file=sys.stderr, disable=None, leave=False)

    def advance(n: int) -> None:
        bar.update(n)
        if total and bar.n >= total:
            bar.close()

    return advance
