"""The bottom layer, imported by every other: the errors a user can cause, registries by name, safe names and
atomic files, shared wording. It imports nothing of whosthat's and no heavy library."""
