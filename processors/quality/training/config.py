"""What a training run is asked to do (:class:`TrainConfig`), what it reports (:class:`TrainReport`),
and the error for a request it cannot carry out (:class:`TrainInputError`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.errors import AssayError
from processors.quality.training.finetune import FinetuneParams
from processors.quality.training.fit import TrainParams

__all__ = ["TrainConfig", "TrainInputError", "TrainReport"]


class TrainInputError(AssayError):
    """The training request or its data is wrong; ``field`` names the :class:`TrainConfig` field
    to fix (None: the data file's content)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TrainConfig:
    """One training run: data, cross-validation, recipe, and where the model goes.

    ``folds`` > 1 cross-validates first (0 or 1: skip); ``cv_from`` records per-fold results
    measured elsewhere (``bench/quality_finetune.py --ensemble --json``, same data and recipe) as
    the model's CV instead (use with ``folds`` 0). ``finetune`` also fine-tunes the encoder in
    ``encoder_dir`` (recorded as ``encoder_id``) and averages it with the linear half.
    """

    data: Path
    text_col: str = "text"
    label_col: str = "rating"
    folds: int = 5
    seed: int = 0
    version: str | None = None  # default: the registry's next minor version
    params: TrainParams = field(default_factory=TrainParams)
    finetune: FinetuneParams | None = None
    encoder_dir: Path | None = None
    encoder_id: str | None = None
    cv_from: tuple[Path, ...] = ()
    charts: Path | None = None  # write CV charts (PNG) here
    promote: bool = False


@dataclass(frozen=True)
class TrainReport:
    """What a run stored: the new version, where, how big, on which data, and its CV summary."""

    version: str
    path: Path
    size_bytes: int
    rows: int
    data_hash: str
    cv_summary: dict[str, Any] | None
    promoted: bool
