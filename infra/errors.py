"""Assay's exception hierarchy, and the one rule that tells an outage from a bad input.

Every error Assay raises on purpose derives from :class:`AssayError`. ``transient`` says whether
the same call can succeed later (a server down, a timeout, an overload): the pipeline waits
those out and commits nothing meanwhile. A non-transient error belongs to one input (a bad
point, a text the model cannot take), which is dead-lettered, or to the configuration
(:class:`ConfigError`), which stops the worker with its message.
"""

from __future__ import annotations


class AssayError(Exception):
    """Base of every error Assay raises on purpose."""

    transient: bool = False

    def __init__(self, message: str = "", *, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient


class ConfigError(AssayError):
    """Invalid or unsupported configuration: no retry helps, the operator must fix it."""


class StoreError(AssayError):
    """Vector store failure; the message says what went wrong and what to do about it."""


class BrokerError(AssayError):
    """Message broker failure."""


class InferenceError(AssayError):
    """Embedding / model inference failure."""


#: Exceptions of the standard library that mean "not now" rather than "never".
_TRANSIENT_BUILTINS = (ConnectionError, TimeoutError)


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is an outage that retrying can outlast.

    >>> is_transient(StoreError("down", transient=True)), is_transient(StoreError("bad point"))
    (True, False)
    >>> try:
    ...     try:
    ...         raise ConnectionRefusedError("refused")
    ...     except OSError as e:
    ...         raise InferenceError("wrapped") from e
    ... except InferenceError as e:
    ...     is_transient(e)
    True
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, AssayError) and current.transient:
            return True
        if isinstance(current, ConfigError):
            return False
        if isinstance(current, _TRANSIENT_BUILTINS):
            return True
        current = current.__cause__ or current.__context__
    return False


def is_config_error(exc: BaseException) -> bool:
    """True when ``exc`` or its cause is a :class:`ConfigError` (the worker must stop)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConfigError):
            return True
        current = current.__cause__ or current.__context__
    return False
