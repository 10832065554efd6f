"""A registry by name for each family (detectors, embedders, heads, engines), as timm does for models.

A registry knows its names before their modules are imported (`modules`), so that listing them (for `--help`)
loads no network or library; `create` imports the module that registers a name on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Generic, Optional, TypeVar

from whosthat.core.errors import WhosthatError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a short name to a factory; `create(name)` builds one, `names()` lists them for --help.

    modules: name -> the module whose `@register(name)` defines it, imported when the name is first created.
    """

    def __init__(self, family: str, modules: Optional[Mapping[str, str]] = None) -> None:
        self.family = family
        self._modules = dict(modules or {})
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator that registers a class or factory function under `name`."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.family} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return decorate

    def get(self, name: str) -> Callable[..., T]:
        """The factory of `name` (its module imported first); an unknown name is a user error listing the known ones."""
        if name not in self._factories and name in self._modules:
            importlib.import_module(self._modules[name])
        try:
            return self._factories[name]
        except KeyError:
            raise WhosthatError(f"unknown {self.family} {name!r}: choose one of {', '.join(self.names())}") from None

    def create(self, name: str, **kwargs: object) -> T:
        """Build the registered `name`."""
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        """Every name, those known before their modules are imported first, without importing them."""
        return list(dict.fromkeys([*self._modules, *self._factories]))

    def load_all(self) -> None:
        """Import every module that registers a name (to check that each declared name is registered)."""
        for module in dict.fromkeys(self._modules.values()):
            importlib.import_module(module)
