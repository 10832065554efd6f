"""`whosthat serve`: a REST API and a web page on one local service that name the faces in uploaded photos."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.lazy import lazy_exports

if TYPE_CHECKING:
    from whosthat.serve.app import create_app
    from whosthat.serve.limits import Limits
    from whosthat.serve.server import serve

#: Public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "create_app": "whosthat.serve.app",
    "Limits": "whosthat.serve.limits",
    "serve": "whosthat.serve.server",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["Limits", "create_app", "serve"]
