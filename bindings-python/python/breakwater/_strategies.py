"""Fallback strategies (contract section 6). A strategy is any object with the attributes the
core reads at registration: ``name``, ``kind``, ``priority`` (lower first), ``description``,
``available`` (a flag), ``handles`` (the triggers it accepts; None for all) and, for a user
strategy, ``execute(context)`` plus optional ``can_handle(context)`` and ``is_available()``.

The four built-in kinds need no ``execute``; the policy produces their value natively:

- ``CachedResponse()``: the last good result of the same call from the Fallback's response
  cache (fresh, or past its TTL under stale-if-error; ``CallInfo.stale`` says which);
- ``SimplifiedResponse(response)``: a reduced answer (called with the context when callable);
- ``FallbackTarget(target)``: calls an alternative with the call's own arguments;
- ``OfflineResponse(value)``: a static answer.

Default names are the kinds (``"cached_response"``...), so the seed's ``degradationRules``
(``"strategy": "cached_response"``) name them as written.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, Iterable, Optional, Tuple, TypeVar

__all__ = [
    "CachedResponse",
    "FallbackTarget",
    "OfflineResponse",
    "SimplifiedResponse",
    "Strategy",
]

T = TypeVar("T")


def _handles(handles: Optional[Iterable[str]]) -> Optional[Tuple[str, ...]]:
    if handles is None:
        return None
    if isinstance(handles, str):
        raise TypeError("handles must be an iterable of trigger names, not a string")
    return tuple(handles)


class Strategy:
    """Base class for a user strategy (optional: any object with ``execute`` will do).

    Define ``execute(context)`` (sync, or ``async def`` for coroutine calls); define
    ``can_handle(context)`` and ``is_available()`` only when needed (they are called on every
    fallback decision that reaches this strategy)::

        class AskAgentB(bw.Strategy):
            kind = "fallback_target"
            priority = 1

            def can_handle(self, ctx: bw.FallbackContext) -> bool:
                return ctx.trigger == "circuit_breaker_open"

            def execute(self, ctx: bw.FallbackContext) -> str:
                return agent_b.ask(*ctx.args, **ctx.kwargs)
    """

    kind: str = "custom"
    name: Optional[str] = None
    priority: int = 0
    description: str = ""
    available: bool = True
    handles: Optional[Tuple[str, ...]] = None

    # execute(self, context) -> Any: required; not defined here, so that a subclass that
    # forgets it is refused at registration rather than failing at the first outage.

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} kind={self.kind!r} priority={self.priority}>"


class _Builtin:
    kind: str = ""

    def __init__(
        self,
        *,
        name: Optional[str],
        priority: int,
        description: str,
        available: bool,
        handles: Optional[Iterable[str]],
    ) -> None:
        self.name = name if name is not None else self.kind
        self.priority = priority
        self.description = description
        self.available = available
        self.handles = _handles(handles)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, priority={self.priority})"


class CachedResponse(_Builtin):
    """Serves the last good result of the same call (same function, policy and arguments)
    from the Fallback's response cache; an entry past its TTL is served when stale-if-error
    is on, and ``CallInfo.stale`` is then True. A Fallback with this strategy gets a default
    ``ResponseCache`` unless given one."""

    kind = "cached_response"

    def __init__(
        self,
        *,
        name: Optional[str] = None,
        priority: int = 0,
        description: str = "the last good response",
        available: bool = True,
        handles: Optional[Iterable[str]] = None,
    ) -> None:
        super().__init__(
            name=name, priority=priority, description=description, available=available, handles=handles
        )


class SimplifiedResponse(_Builtin):
    """A reduced answer: ``response`` itself, or ``response(context)`` when it is callable."""

    kind = "simplified_response"

    def __init__(
        self,
        response: Any,
        *,
        name: Optional[str] = None,
        priority: int = 0,
        description: str = "a simplified response",
        available: bool = True,
        handles: Optional[Iterable[str]] = None,
    ) -> None:
        super().__init__(
            name=name, priority=priority, description=description, available=available, handles=handles
        )
        self.response = response


class FallbackTarget(_Builtin):
    """Calls an alternative (another agent, another model) with the failed call's own
    arguments: ``target(*args, **kwargs)``; a coroutine function is awaited in async calls."""

    kind = "fallback_target"

    def __init__(
        self,
        target: Callable[..., Any],
        *,
        name: Optional[str] = None,
        priority: int = 0,
        description: str = "an alternative target",
        available: bool = True,
        handles: Optional[Iterable[str]] = None,
    ) -> None:
        if not callable(target):
            raise TypeError(f"FallbackTarget needs a callable, got {target!r}")
        super().__init__(
            name=name, priority=priority, description=description, available=available, handles=handles
        )
        self.target = target


class OfflineResponse(_Builtin, Generic[T]):
    """A static answer, returned as it is."""

    kind = "offline_response"

    def __init__(
        self,
        value: T,
        *,
        name: Optional[str] = None,
        priority: int = 0,
        description: str = "a static offline response",
        available: bool = True,
        handles: Optional[Iterable[str]] = None,
    ) -> None:
        super().__init__(
            name=name, priority=priority, description=description, available=available, handles=handles
        )
        self.value = value
