"""What the collection commands do unless told otherwise: kept apart from the code that uses them so that the
command line's `--help` shows them without loading LanceDB, PyTorch or Ray."""

#: Photos per commit: what a run stopped midway can lose.
DEFAULT_BATCH = 128
#: A name given with a probability under this is "unsure" (`find --unsure`).
DEFAULT_UNSURE_BELOW = 0.7
#: Faces a new candidate person needs (`people`).
DEFAULT_MIN_FACES = 3
#: Share of pairs of faces of two different known people that fall within the distance `people` links faces
#: within: chosen with bench/strangers.py; bench/README.md.
LINK_RATE = 0.1
