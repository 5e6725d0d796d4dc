"""Adaptive step sizes for the online head: Adam or AdaGrad, with a decaying base rate.

The base rate decays as ``lr · (1 + t / decay_steps) ** -0.5`` down to a floor ``lr_min``: large
steps while the head leaves its starting point, small ones once it has settled, but never zero,
so the head can still follow a slow change. :meth:`Optimizer.restart` puts ``t`` back to 0 (the
full rate again) after a confirmed concept shift, optionally multiplied by a *boost* that halves
every ``boost_half_life`` steps, and can forget the moments too.

Parameters are a dict of named arrays, updated in place (they are the learner's own copies).

>>> opt = Optimizer(OptimizerConfig(kind="adam", lr=0.1, decay_steps=0))
>>> w = {"w": np.array([1.0])}
>>> for _ in range(50):
...     opt.step(w, {"w": 2 * w["w"]})  # minimise w²
>>> abs(float(w["w"][0])) < 0.2
True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["Optimizer", "OptimizerConfig"]


@dataclass(frozen=True)
class OptimizerConfig:
    """Step-size rule.

    Attributes:
        kind: ``"adam"`` (bias-corrected first and second moments) or ``"adagrad"`` (summed
            squared gradients; its own decay, so ``decay_steps`` is usually 0 with it).
        lr: base rate at ``t = 0``.
        decay_steps: the rate halves after ``3 · decay_steps`` steps; 0 = no decay.
        lr_min: floor of the decayed rate.
        beta1, beta2, eps: Adam's constants (``eps`` also AdaGrad's).
    """

    kind: Literal["adam", "adagrad"] = "adam"
    lr: float = 0.01
    decay_steps: int = 500
    lr_min: float = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.kind not in ("adam", "adagrad"):
            raise ValueError(f"optimizer kind must be 'adam' or 'adagrad', got {self.kind!r}")
        if not (self.lr > 0 and 0 <= self.lr_min <= self.lr and self.decay_steps >= 0):
            raise ValueError(f"need lr > 0, 0 <= lr_min <= lr, decay_steps >= 0: {self}")


class Optimizer:
    """Adam/AdaGrad state over named parameter arrays."""

    def __init__(self, config: OptimizerConfig) -> None:
        self.config = config
        self.t = 0  # steps since start or the last restart: drives the decay
        self.age = 0  # steps the moments have seen: Adam's bias correction
        self.boost = 1.0  # extra factor at the last restart, fading with t
        self.boost_half_life = 1
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def rate(self) -> float:
        """The base rate of the next step."""
        c = self.config
        lr = c.lr if c.decay_steps <= 0 else max(c.lr_min, c.lr / np.sqrt(1.0 + self.t / c.decay_steps))
        if self.boost != 1.0:
            lr *= 1.0 + (self.boost - 1.0) * 0.5 ** (self.t / self.boost_half_life)
        return lr

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """One update of ``params`` (in place) along ``grads``."""
        c = self.config
        lr = self.rate()
        self.t += 1
        self.age += 1
        for name, g in grads.items():
            if name not in self.v:
                self.m[name] = np.zeros_like(params[name])
                self.v[name] = np.zeros_like(params[name])
            if c.kind == "adam":
                m, v = self.m[name], self.v[name]
                m *= c.beta1
                m += (1 - c.beta1) * g
                v *= c.beta2
                v += (1 - c.beta2) * g * g
                mhat = m / (1 - c.beta1 ** self.age)
                vhat = v / (1 - c.beta2 ** self.age)
                params[name] -= lr * mhat / (np.sqrt(vhat) + c.eps)
            else:
                v = self.v[name]
                v += g * g
                params[name] -= lr * g / (np.sqrt(v) + c.eps)

    def restart(self, *, forget_moments: bool, boost: float = 1.0, boost_half_life: int = 50) -> None:
        """Back to the full base rate, times ``boost`` fading with half-life ``boost_half_life``
        steps; ``forget_moments`` also drops Adam's/AdaGrad's history."""
        self.t = 0
        self.boost, self.boost_half_life = float(boost), max(1, int(boost_half_life))
        if forget_moments:
            self.age = 0
            self.m.clear()
            self.v.clear()

    # ------------------------------------------------------------------ state
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {f"m.{k}": v for k, v in self.m.items()} | {f"v.{k}": v for k, v in self.v.items()}
        return arrays, {"config": asdict(self.config), "t": self.t, "age": self.age,
                        "boost": self.boost, "boost_half_life": self.boost_half_life}

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Optimizer:
        opt = cls(OptimizerConfig(**meta["config"]))
        opt.t, opt.age = int(meta["t"]), int(meta["age"])
        opt.boost, opt.boost_half_life = float(meta["boost"]), int(meta["boost_half_life"])
        opt.m = {k[2:]: v.copy() for k, v in arrays.items() if k.startswith("m.")}
        opt.v = {k[2:]: v.copy() for k, v in arrays.items() if k.startswith("v.")}
        return opt
