"""What a video run does unless told otherwise, importable without PyAV or OpenCV (the command line's `--help`
shows it)."""

#: Faces are looked for in every DEFAULT_EVERY-th frame (the first included): once a second at 30 frames a
#: second, which keeps a 1080p clip at least three times faster than real time on two CPU cores (bench/video.py).
DEFAULT_EVERY = 30
