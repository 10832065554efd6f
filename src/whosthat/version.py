"""The version of whosthat (the package and the model files it writes say it)."""

__version__ = "0.1.0"
