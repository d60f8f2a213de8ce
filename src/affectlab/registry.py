"""Name → factory registries (timm-style) so configs name things and code builds them."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Generic, Iterable, TypeVar

from .errors import ConfigError

T = TypeVar("T")

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class _Signature:
    """What a factory takes by keyword: ``accepted`` names (``None``: anything, it has
    ``**kwargs`` or no readable signature) and the ``required`` ones."""

    __slots__ = ("accepted", "required")

    def __init__(self, factory: Callable[..., Any]) -> None:
        try:
            params = list(inspect.signature(factory).parameters.values())
        except (TypeError, ValueError):  # builtins without a signature: let the call decide
            self.accepted, self.required = None, frozenset()
            return
        any_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        named = [p for p in params if p.kind in _KEYWORD_KINDS]
        self.accepted = None if any_kw else frozenset(p.name for p in named)
        self.required = frozenset(p.name for p in named if p.default is inspect.Parameter.empty)


class Registry(Generic[T]):
    """A named collection of factories with a helpful error for unknown names and for keyword
    arguments a factory does not take (its signature is read once per entry)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}
        self._signatures: dict[str, _Signature] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = factory
            return factory

        return decorator

    def get(self, name: str) -> Callable[..., T]:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def accepted(self, name: str) -> frozenset[str] | None:
        """The keyword arguments entry ``name`` takes; ``None`` when it takes any."""
        return self._signature(name).accepted

    def check(self, name: str, kwargs: Iterable[str], provided: Iterable[str] = ()) -> None:
        """Raise ConfigError when ``kwargs`` hold a name entry ``name`` does not take, or miss one
        it requires; ``provided`` are arguments the caller passes itself (never reported missing)."""
        sig = self._signature(name)
        given = set(kwargs)
        unknown = sorted(given - sig.accepted) if sig.accepted is not None else []
        missing = sorted(sig.required - given - set(provided))
        if unknown:
            valid = ", ".join(sorted(sig.accepted)) or "none"
            raise ConfigError(f"{self.kind} {name!r} does not take {', '.join(unknown)}; "
                              f"it takes: {valid}")
        if missing:
            raise ConfigError(f"{self.kind} {name!r} needs {', '.join(missing)}")

    def create(self, name: str, **kwargs: Any) -> T:
        factory = self.get(name)
        self.check(name, kwargs)
        return factory(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def _signature(self, name: str) -> _Signature:
        sig = self._signatures.get(name)
        if sig is None:
            sig = self._signatures[name] = _Signature(self.get(name))
        return sig
