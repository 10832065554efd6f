"""`whosthat serve`: a REST API and a web page on one local service that name the faces in uploaded photos."""

from whosthat.serve.app import create_app
from whosthat.serve.limits import Limits
from whosthat.serve.server import serve

__all__ = ["Limits", "create_app", "serve"]
