"""Assay's exception hierarchy."""


class AssayError(Exception):
    """Base of every error Assay raises on purpose."""


class ConfigError(AssayError):
    """Invalid or unsupported configuration."""


class StoreError(AssayError):
    """Vector store failure; the message says what went wrong and what to do about it."""


class BrokerError(AssayError):
    """Message broker failure."""


class InferenceError(AssayError):
    """Embedding / model inference failure."""
