"""Training the fine-tuned half of the quality model: MiniLM trained end to end on the quality labels.

From 1.2.0 a quality artifact may carry a second classifier next to the linear half
(:mod:`processors.quality.model`): all-MiniLM-L6-v2 with mean pooling and a linear head, every weight
trained on the labels (cross-entropy, AdamW, linear warm-up and decay), reading the first
:attr:`FinetuneParams.max_tokens` tokens of the *same* cleaned text
(:func:`processors.quality.preprocess.document_text`). The model's class probabilities are the
equal-weight average of both halves' (weights fixed in advance, not tuned on any split).

* :func:`finetune` trains it with torch (CPU: about 15 minutes per 5,400 rows on 2 cores), in
  :func:`train_steps`, whose batches are a function of the seed and the step (so a job checkpointed
  at step k resumes exactly: :mod:`.continued`);
* :func:`export_classifier` writes it as one ONNX graph (token ids → class logits, pooling inside),
  dynamically quantized to INT8 (about 23 MB);
* :func:`attach_finetuned` does both and gives a fitted linear model that second half.

:class:`processors.quality.finetuned.FinetunedClassifier` runs the graph at scoring time, without
torch. torch and transformers are imported only here, when a function needs them (a linear-only
training run never loads them).
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from inference.export import quantize_int8
from processors.quality.artifacts import TOKENIZER
from processors.quality.finetuned import FinetunedClassifier, classifier_tokenizer
from processors.quality.model import QualityModel

__all__ = ["FinetuneParams", "attach_finetuned", "classifier_module", "export_classifier", "finetune", "optimizer_for",
           "planned_steps", "torch_proba", "train_steps"]

CLASSIFIER_FILE = "classifier.onnx"  # the exported graph in a work directory (the artifact gzips it)
OPSET = 17


@dataclass(frozen=True)
class FinetuneParams:
    """Recipe of the fine-tuned classifier (recorded in the manifest)."""

    epochs: int = 2
    max_tokens: int = 128
    batch_size: int = 32
    lr: float = 5e-5
    head_lr_mult: float = 20.0  # the new head learns faster than the pretrained encoder
    weight_decay: float = 0.01
    warmup: float = 0.06  # fraction of steps
    clip_norm: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _torch_feeds(tok, texts: Sequence[str]) -> dict[str, Any]:
    import torch

    return {k: torch.from_numpy(v) for k, v in tok.encode(texts).as_feeds().items()}


def _module(encoder, head):
    import torch

    class MeanPoolClassifier(torch.nn.Module):
        """Encoder → masked mean of the last hidden states → linear head (class logits)."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder, self.head = encoder, head

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return self.head((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6))

    return MeanPoolClassifier()


def classifier_module(encoder_dir: str | Path, n_classes: int = 3):
    """A fresh classifier: the encoder in ``encoder_dir`` (a sentence-transformers MiniLM folder),
    mean pooling and a new linear head (train mode)."""
    import torch
    from transformers import AutoModel

    # eager attention traces to plain ops that onnxruntime fuses; same numbers as sdpa
    encoder = AutoModel.from_pretrained(str(encoder_dir), attn_implementation="eager")
    return _module(encoder, torch.nn.Linear(encoder.config.hidden_size, n_classes))


def optimizer_for(model, params: FinetuneParams, steps: int):
    """AdamW (the head at ``lr × head_lr_mult``) and the linear warm-up and decay over ``steps``."""
    import torch

    opt = torch.optim.AdamW(
        [{"params": model.encoder.parameters(), "lr": params.lr},
         {"params": model.head.parameters(), "lr": params.lr * params.head_lr_mult}],
        weight_decay=params.weight_decay)
    warm = max(1.0, params.warmup * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, 1 - s / steps))
    return opt, sched


def planned_steps(n: int, params: FinetuneParams, max_steps: int | None = None) -> int:
    """Optimizer steps of ``params.epochs`` passes over ``n`` rows, at most ``max_steps``.

    >>> planned_steps(100, FinetuneParams(epochs=2, batch_size=32)), planned_steps(100, FinetuneParams(), 5)
    (8, 5)
    """
    steps = params.epochs * ((n + params.batch_size - 1) // params.batch_size)
    return steps if max_steps is None else min(steps, max_steps)


def train_steps(model, opt, sched, texts: Sequence[str], y: np.ndarray, tokenizer_path: Path,
                params: FinetuneParams, steps: int, *, start: int = 0,
                after_step: Callable[[int, int, int, float], None] | None = None) -> None:
    """Optimizer steps ``start + 1 … steps`` over ``texts``/``y`` (in train mode).

    The batches are a pure function of ``params.seed``: epoch ``e`` visits the rows in the
    ``e``-th permutation drawn from ``default_rng(seed)``, in batches of ``params.batch_size``;
    the first ``start`` batches are skipped, so a run resumed from step ``start`` (with the torch
    state saved there) sees the batches an uninterrupted run would. ``after_step(step, epoch,
    position, loss)``: after each step (``position``: batches of that epoch done).
    """
    import torch

    tok = classifier_tokenizer(Path(tokenizer_path), params.max_tokens)
    y = np.asarray(y)
    n = len(texts)
    rng = np.random.default_rng(params.seed)
    step = 0
    model.train()
    for epoch in range(params.epochs):
        order = rng.permutation(n)
        for position, i in enumerate(range(0, n, params.batch_size), start=1):
            if step >= steps:
                return
            step += 1
            if step <= start:
                continue  # done before the run was interrupted
            idx = order[i: i + params.batch_size]
            feeds = _torch_feeds(tok, [texts[j] for j in idx])
            loss = torch.nn.functional.cross_entropy(model(**feeds), torch.as_tensor(y[idx], dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.encoder.parameters(), params.clip_norm)
            opt.step()
            sched.step()
            if after_step is not None:
                after_step(step, epoch, position, loss.item())


def finetune(
    texts: Sequence[str],
    y: np.ndarray,
    encoder_dir: str | Path,
    params: FinetuneParams = FinetuneParams(),
    *,
    n_classes: int = 3,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
):
    """Fine-tune the encoder in ``encoder_dir`` (a sentence-transformers MiniLM folder) on cleaned
    ``texts`` and integer labels ``y``; returns the trained torch module (eval mode)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(params.seed)
    encoder_dir = Path(encoder_dir)
    model = classifier_module(encoder_dir, n_classes)
    steps = planned_steps(len(texts), params)
    opt, sched = optimizer_for(model, params, steps)
    started = time.perf_counter()

    def report(step: int, epoch: int, _position: int, loss: float) -> None:
        if progress and (step % 20 == 0 or step == steps):
            progress(f"epoch {epoch + 1} step {step}/{steps} loss {loss:.3f} "
                     f"({time.perf_counter() - started:.0f} s)")

    train_steps(model, opt, sched, texts, y, encoder_dir / TOKENIZER, params, steps, after_step=report)
    model.eval()
    return model


def torch_proba(model, texts: Sequence[str], tokenizer_path: str | Path, max_tokens: int,
                batch_size: int = 64) -> np.ndarray:
    """Class probabilities from the torch module (fp32; for checking the INT8 export)."""
    import torch

    tok = classifier_tokenizer(Path(tokenizer_path), max_tokens)
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            feeds = _torch_feeds(tok, texts[i: i + batch_size])
            out.append(torch.softmax(model(**feeds), -1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 3))


def export_classifier(model, out_path: str | Path, *, quantize: bool = True) -> Path:
    """Write ``model`` (from :func:`finetune`) as an ONNX graph ``(input_ids, attention_mask,
    token_type_ids) → logits``, dynamically quantized to INT8 unless ``quantize`` is false."""
    import torch

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_path.parent) as tmpdir:
        fp32 = Path(tmpdir) / "fp32.onnx"
        ids = torch.tensor([[101, 7592, 2088, 2003, 102], [101, 7592, 102, 0, 0]], dtype=torch.long)
        feeds = {"input_ids": ids, "attention_mask": (ids != 0).long(), "token_type_ids": torch.zeros_like(ids)}
        axes = {k: {0: "batch", 1: "sequence"} for k in feeds}
        axes["logits"] = {0: "batch"}
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about shape-derived Python values
            torch.onnx.export(model, (), str(fp32), kwargs=feeds, input_names=list(feeds), output_names=["logits"],
                              dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False)
        tmp_out = Path(tmpdir) / "out.onnx"
        if quantize:
            quantize_int8(fp32, tmp_out)  # a fresh temporary path: never a cached graph
        else:
            os.replace(fp32, tmp_out)
        os.chmod(tmp_out, 0o644)
        os.replace(tmp_out, out_path)
    return out_path


def attach_finetuned(
    model: QualityModel,
    texts: Sequence[str],
    y: np.ndarray,
    encoder_dir: str | Path,
    params: FinetuneParams,
    workdir: str | Path,
    *,
    encoder_id: str | None = None,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> QualityModel:
    """Fine-tune on ``texts``/``y``, export to ``workdir``, and return ``model`` (fitted on the same
    rows) with that classifier as its second half. Saving the model copies the files into its
    artifact: ``workdir`` must outlive the save."""
    t = time.perf_counter()
    module = finetune(texts, y, encoder_dir, params, threads=threads, progress=progress)
    train_s = time.perf_counter() - t
    path = export_classifier(module, Path(workdir) / CLASSIFIER_FILE)
    classifier = FinetunedClassifier(path, Path(encoder_dir) / TOKENIZER, params.max_tokens)
    return model.with_finetuned(classifier, {"params": params.to_dict(), "encoder": encoder_id or Path(encoder_dir).name,
                                             "rows": len(texts), "train_s": round(train_s, 1)})
