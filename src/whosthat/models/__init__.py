"""A model as a whole and its file: `Model` (detector + embedder + recogniser), `Ensemble`, the `.wt` format, the
records it keeps about its training, and the migration of older files. Imports only the layers below."""
