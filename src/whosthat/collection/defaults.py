"""What the collection commands do unless told otherwise: kept apart from the code that uses them so that the
command line's `--help` shows them without loading LanceDB, PyTorch or Ray."""

#: Photos per commit: what a run stopped midway can lose.
DEFAULT_BATCH = 128
#: A name given with a probability under this is "unsure" (`find --unsure`).
DEFAULT_UNSURE_BELOW = 0.7
#: Faces (itself included) within the distance that make a face a core face.
DEFAULT_MIN_FACES = 3
