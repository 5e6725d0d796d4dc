"""Labelled training rows from a file (parquet, csv, tsv, json or jsonl; pandas)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from processors.quality.embed_cache import texts_hash
from processors.quality.training.config import TrainInputError

__all__ = ["LabelledRows", "read_labelled_rows"]


@dataclass(frozen=True)
class LabelledRows:
    """Raw texts and their label names, in file order."""

    texts: list[str]
    labels: list[str]

    @property
    def data_hash(self) -> str:
        """sha256 of the texts and labels: what a manifest and a fold result record as the data.

        >>> LabelledRows(["a"], ["HQ"]).data_hash == LabelledRows(["a"], ["LQ_EDIT"]).data_hash
        False
        """
        return texts_hash([*self.texts, "\x00labels", *self.labels])


def read_labelled_rows(path: Path, text_col: str, label_col: str) -> LabelledRows:
    """The ``text_col`` (missing → "") and ``label_col`` columns of a data file;
    :class:`TrainInputError` for an unsupported format or a missing column."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        df = pd.read_parquet(path)
    elif suffix in (".jsonl", ".ndjson"):
        df = pd.read_json(path, lines=True)
    elif suffix == ".json":
        df = pd.read_json(path)
    elif suffix in (".csv", ".tsv"):
        df = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    else:
        raise TrainInputError(f"unsupported data file {path.name} (parquet, csv, tsv, json, jsonl)")
    missing = [c for c in (text_col, label_col) if c not in df.columns]
    if missing:
        raise TrainInputError(f"{path.name} has no column(s) {missing}; columns: {list(df.columns)}")
    return LabelledRows(df[text_col].fillna("").astype(str).tolist(), df[label_col].astype(str).tolist())
