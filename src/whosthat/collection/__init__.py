"""Collections: every face of every photo of a folder in an index, named by a model; find, sort, new people.

`whosthat.index(model, folder)` builds or updates the index and returns an `Index`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.lazy import lazy_exports

if TYPE_CHECKING:
    from whosthat.collection.api import Index, Summary, index
    from whosthat.collection.find import FaceHit, Hit
    from whosthat.collection.indexer import IndexReport
    from whosthat.collection.people import PeopleReport, Person

#: Public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "Index": "whosthat.collection.api",
    "Summary": "whosthat.collection.api",
    "index": "whosthat.collection.api",
    "FaceHit": "whosthat.collection.find",
    "Hit": "whosthat.collection.find",
    "IndexReport": "whosthat.collection.indexer",
    "PeopleReport": "whosthat.collection.people",
    "Person": "whosthat.collection.people",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["FaceHit", "Hit", "Index", "IndexReport", "PeopleReport", "Person", "Summary", "index"]
