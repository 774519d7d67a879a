# The exception classes of breakwater (contract section 3), compiled into the native module at
# import (errors.rs). Plain Python classes, so ConfigError can also be a ValueError and
# TimeoutError the builtin TimeoutError. The rejection errors keep their fields in `args`
# (like OSError) and format their message lazily: raising one costs one tuple, no dict.


def _arg(i, doc):
    def get(self):
        a = self.args
        return a[i] if len(a) > i else None

    return property(get, doc=doc)


class BreakwaterError(Exception):
    """Base class of every breakwater error; `code` is the contract's error code string
    (`PANIC` for an internal error caught at the boundary)."""

    __module__ = "breakwater"
    code = "PANIC"


class CircuitOpenError(BreakwaterError):
    """The circuit breaker rejected the call: CircuitOpenError(component, state, retry_after,
    last_error). `state` is the state that rejected (open, half_open or forced_open),
    `retry_after` the seconds until it may admit again (None when forced open), `last_error`
    the last error of this call, if any (also its `__cause__`)."""

    __module__ = "breakwater"
    code = "CIRCUIT_OPEN"
    component = _arg(0, "The breaker's name.")
    state = _arg(1, "The state that rejected: open, half_open or forced_open.")
    retry_after = _arg(2, "Seconds until the breaker may admit again; None when forced open.")
    last_error = _arg(3, "The last error of this call before the rejection, if any.")

    def __str__(self):
        if len(self.args) < 2:
            return super().__str__()
        msg = f"circuit {self.component!r} is {self.state}"
        if self.retry_after is not None:
            msg += f"; retry after {self.retry_after:.3f} s"
        return msg


class RateLimitedError(BreakwaterError):
    """A rate limiter rejected the call: RateLimitedError(component, retry_after, last_error);
    `retry_after` in seconds or None."""

    __module__ = "breakwater"
    code = "RATE_LIMITED"
    component = _arg(0, "The limiter's name.")
    retry_after = _arg(1, "Seconds until a permit may be free; None when unknown.")
    last_error = _arg(2, "The last error of this call before the rejection, if any.")

    def __str__(self):
        if len(self.args) < 2:
            return super().__str__()
        msg = f"rate limit of {self.component!r} reached"
        if self.retry_after is not None:
            msg += f"; retry after {self.retry_after:.3f} s"
        return msg


class BulkheadFullError(BreakwaterError):
    """A bulkhead had no room for the call: BulkheadFullError(component, last_error)."""

    __module__ = "breakwater"
    code = "BULKHEAD_FULL"
    component = _arg(0, "The bulkhead's name.")
    last_error = _arg(1, "The last error of this call before the rejection, if any.")

    def __str__(self):
        if len(self.args) < 2:
            return super().__str__()
        return f"bulkhead {self.component!r} is full"


class TimeoutError(BreakwaterError, TimeoutError):  # noqa: A001 - the contract's name
    """An attempt timed out (also the builtin TimeoutError). `timeout` is the limit in
    seconds."""

    __module__ = "breakwater"
    code = "TIMEOUT"
    timeout = None


class RetryError(BreakwaterError):
    """Retries ran out. `attempts` made, `reason` the give-up reason (max_attempts,
    max_elapsed, retry_after_exceeds_max, budget_exhausted); the last error is `last_error`
    and the `__cause__`."""

    __module__ = "breakwater"
    code = "RETRY_EXHAUSTED"
    attempts = None
    reason = None
    last_error = None


class ConfigError(BreakwaterError, ValueError):
    """An invalid configuration value (also a ValueError). `key` and `value` as the caller
    wrote them (Python keywords, durations in seconds; in a document, the key relative to its
    component's config: `failureThreshold`, `window.size`), `path` where that key is in a
    whole config document (`circuitBreakers.agentSpecific.architect.failureThreshold`; the key
    itself outside one), `allowed` what would be accepted, `errors` every problem found as
    (key, value, allowed) tuples and `paths` every problem's path, in the same order."""

    __module__ = "breakwater"
    code = "CONFIG_INVALID"
    key = None
    path = None
    paths = ()
    value = None
    allowed = None
    errors = ()
