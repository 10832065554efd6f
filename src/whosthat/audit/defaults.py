"""What an audit does unless told otherwise, importable without OpenCV or PyTorch (the command line's `--help`
shows it)."""

#: The face checks' detector and embedder unless told otherwise (FaceNet: the quickest on a cold cache).
AUDIT_DETECTOR = "yunet"
AUDIT_EMBEDDER = "facenet"
