"""Collections: every face of every photo of a folder in an index, named by a model; find, sort, new people.

`whosthat.index(model, folder)` builds or updates the index and returns an `Index`.
"""

from whosthat.collection.api import Index, Summary, index
from whosthat.collection.find import FaceHit, Hit
from whosthat.collection.indexer import IndexReport
from whosthat.collection.people import PeopleReport, Person

__all__ = ["FaceHit", "Hit", "Index", "IndexReport", "PeopleReport", "Person", "Summary", "index"]
