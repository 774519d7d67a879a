"""``bw.prometheus(...)``: the Prometheus text exposition, rendered by the core."""

from __future__ import annotations

from typing import Optional

from . import _breakwater as _native
from ._breakwater import Registry

__all__ = ["prometheus"]


def prometheus(*objects: object, registry: Optional[Registry] = _native.registry) -> str:
    """The Prometheus text exposition (format 0.0.4; content type
    ``bw.METRICS_CONTENT_TYPE``) of ``registry``'s components (default: the process-wide
    ``bw.registry``; ``registry=None`` for none) and of ``objects``: circuit breakers, policies
    (with their breaker, limiter, bulkhead and fallback), rate limiters, bulkheads,
    degradation managers and fallbacks, one health registry, SLOs, one alert manager, other
    registries, or lists of these. Serve it from any HTTP framework::

        @app.get("/metrics")
        def metrics() -> Response:
            return Response(bw.prometheus(policy, health), media_type=bw.METRICS_CONTENT_TYPE)
    """
    sources = objects if registry is None else (registry, *objects)
    return _native._prometheus(sources)
