"""The name whosthat gives a face of nobody in the group, spelled once for every part that writes or reads it."""

UNKNOWN_LABEL = "unknown"
