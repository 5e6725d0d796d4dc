"""``assay inference serve``: run the batched embedder as a shared HTTP service.

The bearer token is read from an environment variable named by ``--token-env``, never taken
as a literal, so it does not end up in shell history or ``ps`` output.
"""

from __future__ import annotations

import os

import click

from infra.errors import ConfigError

__all__ = ["inference_group"]


@click.group("inference")
def inference_group() -> None:
    """Embedding inference service (one model shared by many workers)."""


@inference_group.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default)")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token-env", default=None, metavar="NAME",
              help="Environment variable holding the bearer token clients must send (unset = no auth; then "
                   "only a loopback --host is allowed)")
@click.option("--insecure-no-token", is_flag=True,
              help="Serve a non-loopback --host without a token (only behind something that authenticates)")
@click.option("--max-inputs", default=None, type=click.IntRange(1), help="Texts per request [default: 256]")
@click.option("--max-body-bytes", default=None, type=click.IntRange(1), help="Request body limit [default: 2 MiB]")
def serve(host: str, port: int, token_env: str | None, insecure_no_token: bool, max_inputs: int | None,
          max_body_bytes: int | None) -> None:
    """Serve /v1/embeddings (OpenAI), /embed (TEI), /health, /ready, /info and /metrics."""
    from infra.http_auth import require_token_when_exposed
    from infra.settings import get_settings

    from .cache import wrap_with_cache
    from .factory import create_embedder
    from .server import run_server

    token: str | None = None
    if token_env:
        token = os.environ.get(token_env, "").strip()
        if not token:
            raise click.UsageError(f"--token-env {token_env}: that environment variable is unset or empty")
    # Refused before the model is loaded, not after.
    require_token_when_exposed(host, token, insecure_no_token, service="the inference server",
                               set_token="--token-env NAME", opt_out="--insecure-no-token")
    settings = get_settings()
    if settings.inference.backend.strip().lower() == "remote":
        raise ConfigError("`inference serve` needs a local backend (auto, onnx or torch), not 'remote'")
    embedder = wrap_with_cache(create_embedder(settings.inference, settings.models_dir), settings.redis)
    limits = {k: v for k, v in (("max_inputs", max_inputs), ("max_body_bytes", max_body_bytes)) if v is not None}
    try:
        run_server(settings.inference, host, port, token, embedder=embedder, allow_no_token=insecure_no_token,
                   **limits)
    finally:
        embedder.close()
