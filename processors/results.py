"""Result values shared by the pure stages: a stage returns its output or a ``Rejection``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rejection:
    """Why a record cannot go on. The agent turns this into a dead letter; nothing raises."""

    stage: str
    error_class: str
    reason: str
