"""Credentials never reach output or logs: URLs lose their passwords and secret query parameters.

Secrets in settings are ``SecretStr`` already; what is left are URLs that carry credentials
(``redis://:password@host``, ``http://user:pass@qdrant:6333``, ``?api_key=…``). Every line Assay
prints about such a URL goes through :func:`redact_url`, and :func:`install_log_redaction` applies
:func:`redact_text` to every log record, including those of libraries that log a URL.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "install_log_redaction", "redact_text", "redact_url"]

MASK = "***"
#: Query parameters whose values are secrets.
SECRET_PARAMS = frozenset({"password", "passwd", "pass", "pwd", "secret", "token", "access_token", "api_key",
                           "apikey", "key", "auth", "sasl_password", "sig", "signature"})
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str | None) -> str | None:
    """``url`` with its password (and secret query values) replaced by ``***``; the rest kept.

    >>> redact_url("redis://:s3cret@cache:6379/0")
    'redis://:***@cache:6379/0'
    >>> redact_url("https://alice:pw@qdrant.example:6333/?api_key=abc&timeout=5")
    'https://alice:***@qdrant.example:6333/?api_key=***&timeout=5'
    >>> redact_url("redis://token-only@cache:6379"), redact_url("kafka:9092"), redact_url(None)
    ('redis://***@cache:6379', 'kafka:9092', None)
    """
    if not url or "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user, colon, _password = userinfo.partition(":")
            # A lone userinfo without ':' is a token (redis://TOKEN@host): mask it whole.
            netloc = f"{user}:{MASK}@{hostport}" if colon else f"{MASK}@{hostport}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(k.lower() in SECRET_PARAMS for k, _ in pairs):
                query = urlencode([(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # not parseable: say nothing about it rather than leak it
        return f"{url.split('://', 1)[0]}://{MASK}"


def redact_text(text: str) -> str:
    """Every URL inside ``text`` redacted.

    >>> redact_text("redis redis://u:p@h:1/0 unreachable")
    'redis redis://u:***@h:1/0 unreachable'
    """
    if "://" not in text:
        return text
    return _URL.sub(lambda m: redact_url(m.group(0)) or "", text)


class _RedactingFactory:
    """A log record factory that redacts the formatted message when it holds a URL with credentials."""

    def __init__(self, inner: logging._LogRecordFactory) -> None:  # type: ignore[name-defined]
        self.inner = inner

    def __call__(self, *args: object, **kwargs: object) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's business, not ours
            return record
        if "://" in message and ("@" in message or "=" in message):
            redacted = redact_text(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return record


def install_log_redaction() -> None:
    """Redact URLs in every log record of this process from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingFactory):
        logging.setLogRecordFactory(_RedactingFactory(current))
