"""A registry by name for each family (detectors, embedders, heads), as timm does for models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from whosthat.core.errors import WhosthatError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a short name to a factory; `create(name)` builds one, `names()` lists them for --help."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers a class or factory function under `name`."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.family} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return decorate

    def create(self, name: str, **kwargs: object) -> T:
        """Build the registered `name`; an unknown name is a user error listing the known ones."""
        try:
            factory = self._factories[name]
        except KeyError:
            raise WhosthatError(f"unknown {self.family} {name!r}: choose one of {', '.join(self.names())}") from None
        return factory(**kwargs)

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._factories)
