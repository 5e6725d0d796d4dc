"""Who may call Assay's HTTP services: loopback by default, a bearer token anywhere else.

Both the worker API and the inference server bind ``127.0.0.1`` unless told otherwise. Bound to
any other address they refuse to start without a token, unless the operator says explicitly that
something in front of them authenticates (``ASSAY_WEB_ALLOW_NO_TOKEN=true``,
``--insecure-no-token``). Probes (``/health``, ``/ready``) never need the token.
"""

from __future__ import annotations

import hmac
import ipaddress

from infra.errors import ConfigError

__all__ = ["bearer_matches", "is_loopback", "require_token_when_exposed"]


def is_loopback(host: str) -> bool:
    """
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def require_token_when_exposed(host: str, token: str | None, allow_no_token: bool, *, service: str,
                               set_token: str, opt_out: str) -> None:
    """Raise :class:`ConfigError` when ``service`` would listen beyond loopback with no token.

    >>> require_token_when_exposed("0.0.0.0", None, False, service="the worker API", set_token="ASSAY_WEB_TOKEN",
    ...                            opt_out="ASSAY_WEB_ALLOW_NO_TOKEN=true")
    Traceback (most recent call last):
    ...
    infra.errors.ConfigError: the worker API would listen on 0.0.0.0 without a bearer token, so anyone who can reach \
it could use it; set ASSAY_WEB_TOKEN, bind 127.0.0.1, or, if something in front of it authenticates, \
ASSAY_WEB_ALLOW_NO_TOKEN=true
    """
    if token or allow_no_token or is_loopback(host):
        return
    raise ConfigError(f"{service} would listen on {host} without a bearer token, so anyone who can reach it could "
                      f"use it; set {set_token}, bind 127.0.0.1, or, if something in front of it authenticates, "
                      f"{opt_out}")


def bearer_matches(authorization: str, token: bytes) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (constant-time comparison).

    >>> bearer_matches("Bearer s3cret", b"s3cret"), bearer_matches("bearer s3cret", b"s3cret")
    (True, True)
    >>> bearer_matches("Basic s3cret", b"s3cret"), bearer_matches("Bearer ", b"s3cret")
    (False, False)
    """
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token)
