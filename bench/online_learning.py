"""``bench/online.py``, the learning half: tuning on the seed rows, the learning curve, the label
rotation (per drift policy, the refit candidate, the whole loop) and the cost of an update."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np

from online_data import BenchData

from processors.learning.fold import initial_head
from processors.learning.learner import IGNORE_DRIFT, DriftPolicy, LearnerConfig, OnlineSoftmax
from processors.learning.metrics import PrequentialMetrics, Tally
from processors.learning.optimizer import OptimizerConfig
from processors.learning.refit import fit_head
from processors.learning.rollout import ExperimentConfig, LabelledPairs, Promoted, RolledBack, bucket, start, transition
from processors.learning.sequential import log_loss_differences
from processors.learning.session import CutPolicy, FeedbackBatch, OnlineSession, SessionConfig

BATCH = 32
SHIFT_AT = 2250


def f1(head_or_learner, X: np.ndarray, y: np.ndarray) -> float:
    return Tally.of(y, head_or_learner.predict_proba(X)).snapshot().macro_f1


# ---------------------------------------------------------------------- tuning on the seed rows
def tuning_section(d: BenchData) -> dict:
    X, y = d.X_seed_oof, d.y[d.seed]
    out = {}
    rates = [("adam", lr) for lr in (0.001, 0.003, 0.01, 0.03)] + [("adagrad", lr) for lr in (0.01, 0.03, 0.1)]
    for kind, lr in rates:
        for l2 in (1e-3, 1e-2):
            for ratio in (1.0, 3.0):
                for half_life in (0, 20, 100):
                    choice = {"kind": kind, "lr": lr, "l2": l2, "replay_ratio": ratio, "average_half_life": half_life}
                    learner = OnlineSoftmax(initial_head(), learner_config({"chosen": choice}))
                    m = PrequentialMetrics(3)
                    for i in range(0, len(y), BATCH):
                        m.update(y[i:i + BATCH], learner.predict_proba(X[i:i + BATCH]))
                        learner.partial_fit(X[i:i + BATCH], y[i:i + BATCH])
                    s = m.cumulative()
                    out[json.dumps(choice)] = {**choice, "log_loss": s.log_loss, "macro_f1": s.macro_f1}
    best = min(out.values(), key=lambda r: r["log_loss"])
    return {"grid": out, "chosen": {k: best[k] for k in ("kind", "lr", "l2", "replay_ratio", "average_half_life")}}


def learner_config(tuned: dict, **kw) -> LearnerConfig:
    c = tuned["chosen"]
    opt = (OptimizerConfig(kind="adam", lr=c["lr"], lr_min=c["lr"] / 10) if c["kind"] == "adam"
           else OptimizerConfig(kind="adagrad", lr=c["lr"], decay_steps=0, lr_min=0.0))
    return LearnerConfig(**{"optimizer": opt, "l2": c["l2"],
                            "replay_ratio": c["replay_ratio"], "average_half_life": c["average_half_life"], **kw})


# ---------------------------------------------------------------------- learning curve
def run_online(d: BenchData, cfg: LearnerConfig, *, seed_X: np.ndarray | None, y_stream: np.ndarray,
               X_stream: np.ndarray, eval_every: int = 500, hold_y: np.ndarray | None = None) -> dict:
    """Stream rows through a session; progressive curve every 250 labels, held-back F1 every ``eval_every``."""
    s = OnlineSession(initial_head(), SessionConfig(learner=cfg, cut=CutPolicy(every_labels=0, every_seconds=0,
                                                                                   after_drift_labels=0)))
    if seed_X is not None:
        s.learner.seed_replay(seed_X, d.y[d.seed])
    hold_X = d.X[d.hold]
    hold_y = d.y[d.hold] if hold_y is None else hold_y
    curve, held = [], [(0, f1(s.learner, hold_X, hold_y))]
    n = len(y_stream)
    for i in range(0, n, BATCH):
        j = min(n, i + BATCH)
        s.observe(FeedbackBatch(X_stream[i:j], y_stream[i:j], np.zeros(j - i, int), np.arange(i, j),
                                np.zeros(j - i, bool)), now=0.0)
        if j % 250 < BATCH or j == n:
            curve.append((j, s.metrics.cumulative().macro_f1, s.metrics.windowed().macro_f1))
        if j % eval_every < BATCH or j == n:
            held.append((j, f1(s.learner, hold_X, hold_y)))
    return {"curve": curve, "held": held, "final": s.metrics.cumulative().to_dict(), "alarms": [a.at for a in s.alarms],
            "head": s.learner.head, "session": s}


def learning_curve_section(d: BenchData, tuned: dict) -> dict:
    Xs, ys = d.X[d.stream], d.y[d.stream]
    hold_X, hold_y = d.X[d.hold], d.y[d.hold]
    cfg = learner_config(tuned)
    online = run_online(d, cfg, seed_X=d.X_seed_oof, y_stream=ys, X_stream=Xs)
    # frozen: the current model, never updated
    frozen = PrequentialMetrics(3)
    frozen_curve = []
    base = initial_head()
    for i in range(0, len(ys), BATCH):
        frozen.update(ys[i:i + BATCH], base.predict_proba(Xs[i:i + BATCH]))
        j = min(len(ys), i + BATCH)
        if j % 250 < BATCH or j == len(ys):
            frozen_curve.append((j, frozen.cumulative().macro_f1, frozen.windowed().macro_f1))
    # batch: the same head refitted to convergence on seed + seen rows every 500 labels
    batch_m, batch_curve, batch_held, batch_secs = PrequentialMetrics(3), [], [], []
    head = base
    for start_ in range(0, len(ys), 500):
        if start_:
            t = time.perf_counter()
            head = fit_head(np.vstack([d.X_seed_oof, Xs[:start_]]), np.r_[d.y[d.seed], ys[:start_]], None, base,
                            l2=cfg.l2, max_iter=1000)
            batch_secs.append(time.perf_counter() - t)
        batch_held.append((start_, f1(head, hold_X, hold_y)))
        for i in range(start_, min(len(ys), start_ + 500), BATCH):
            j = min(len(ys), i + BATCH, start_ + 500)
            batch_m.update(ys[i:j], head.predict_proba(Xs[i:j]))
            if j % 250 < BATCH or j == len(ys):
                batch_curve.append((j, batch_m.cumulative().macro_f1, batch_m.windowed().macro_f1))
    final_batch = fit_head(np.vstack([d.X_seed_oof, Xs]), np.r_[d.y[d.seed], ys], None, base, l2=cfg.l2, max_iter=1000)
    batch_held.append((len(ys), f1(final_batch, hold_X, hold_y)))
    variants = {
        "no replay": run_online(d, replace(cfg, replay_ratio=0.0), seed_X=None, y_stream=ys, X_stream=Xs),
        "replay seeded with in-sample logits": run_online(d, cfg, seed_X=d.X_seed_in, y_stream=ys, X_stream=Xs),
        "Adam lr 0.003 (if AdaGrad chosen) / AdaGrad lr 0.03 (if Adam chosen)": run_online(
            d, replace(cfg, optimizer=OptimizerConfig(kind="adam", lr=0.003, lr_min=0.0003) if cfg.optimizer.kind == "adagrad"
                       else OptimizerConfig(kind="adagrad", lr=0.03, decay_steps=0, lr_min=0.0)),
            seed_X=d.X_seed_oof, y_stream=ys, X_stream=Xs),
        "no weight averaging": run_online(d, replace(cfg, average_half_life=0), seed_X=d.X_seed_oof, y_stream=ys, X_stream=Xs),
    }
    return {
        "frozen": {"curve": frozen_curve, "final": frozen.cumulative().to_dict(), "held": f1(base, hold_X, hold_y)},
        "online": {k: online[k] for k in ("curve", "held", "final", "alarms")},
        "batch": {"curve": batch_curve, "held": batch_held, "final": batch_m.cumulative().to_dict(),
                  "refit_seconds_mean": float(np.mean(batch_secs))},
        "variants": {k: {"final": v["final"], "held_final": v["held"][-1][1]} for k, v in variants.items()},
        "_online_head": online["head"],
    }


# ---------------------------------------------------------------------- shift
def _recovery(held: list[tuple[int, float]], pre: float) -> int | None:
    for n, v in held:
        if n > 0 and v >= pre - 0.02:
            return n
    return None


POLICIES = {  # every field that differs from "ignore" spelled out: the code's defaults may move
    "ignore the alarm": IGNORE_DRIFT,
    "drop replay, release anchor, rate x3": DriftPolicy(rate_boost=3.0, catch_up_steps=0),
    "... + 4 catch-up steps for 1000 labels": DriftPolicy(rate_boost=3.0, catch_up_steps=4, catch_up_labels=1000),
    "... + 8 catch-up steps for 1000 labels": DriftPolicy(rate_boost=3.0, catch_up_steps=8, catch_up_labels=1000),
    "drop replay, release anchor, rate x10": DriftPolicy(rate_boost=10.0, catch_up_steps=0),
    "keep replay, release anchor, rate x3, 4 catch-up": DriftPolicy(replay_factor=1.0, rate_boost=3.0, catch_up_steps=4,
                                                                   catch_up_labels=1000),
    "replay x0.1, release anchor, rate x3, 4 catch-up": DriftPolicy(replay_factor=0.1, rate_boost=3.0, catch_up_steps=4,
                                                                   catch_up_labels=1000),
}


def policy_selection_section(d: BenchData, tuned: dict) -> dict:
    """Choose the drift policy on the seed rows: 750 labels, then the rotation, then 1,500 rotated
    labels (a second pass); the policy is applied at the rotation; lowest post-shift progressive log-loss wins."""
    X, y = d.X_seed_oof, d.y[d.seed]
    half = len(y) // 2
    post_X, post_y = np.vstack([X[half:], X[:half]]), (np.r_[y[half:], y[:half]] + 1) % 3
    out = {}
    for name, policy in POLICIES.items():
        learner = OnlineSoftmax(initial_head(), learner_config(tuned))
        for i in range(0, half, BATCH):
            learner.partial_fit(X[i:min(half, i + BATCH)], y[i:min(half, i + BATCH)])
        learner.on_drift(policy)
        m = PrequentialMetrics(3)
        for i in range(0, len(post_y), BATCH):
            m.update(post_y[i:i + BATCH], learner.predict_proba(post_X[i:i + BATCH]))
            learner.partial_fit(post_X[i:i + BATCH], post_y[i:i + BATCH])
        out[name] = {"post_log_loss": m.cumulative().log_loss, "post_macro_f1": m.cumulative().macro_f1}
    chosen = min(out, key=lambda k: out[k]["post_log_loss"])
    return {"grid": out, "chosen": chosen}


def shift_section(d: BenchData, tuned: dict, chosen: str) -> dict:
    Xs, ys = d.X[d.stream], d.y[d.stream]
    hold_X, hold_y = d.X[d.hold], d.y[d.hold]
    rot = lambda v: (v + 1) % 3  # noqa: E731
    post_X = np.vstack([Xs[SHIFT_AT:], Xs[:SHIFT_AT]])  # second pass over the stream rows, rotated
    post_y = rot(np.r_[ys[SHIFT_AT:], ys[:SHIFT_AT]])
    out: dict = {"chosen_policy": chosen, "policies": {}}
    cfg = learner_config(tuned)
    plain = run_online(d, cfg, seed_X=d.X_seed_oof, y_stream=ys, X_stream=Xs)
    out["unshifted_alarms"] = {"events": len(ys), "alarms": plain["alarms"]}
    for name, policy in POLICIES.items():
        sc = SessionConfig(learner=cfg, drift_policy=policy, cut=CutPolicy(every_labels=0, every_seconds=0, after_drift_labels=0))
        s = OnlineSession(initial_head(), sc)
        s.learner.seed_replay(d.X_seed_oof, d.y[d.seed])
        for i in range(0, SHIFT_AT, BATCH):
            j = min(SHIFT_AT, i + BATCH)
            s.observe(FeedbackBatch(Xs[i:j], ys[i:j], np.zeros(j - i, int), np.arange(i, j), np.zeros(j - i, bool)), now=0)
        pre = f1(s.learner, hold_X, hold_y)
        held, refit_held, alarms = [(0, f1(s.learner, hold_X, rot(hold_y)))], [], []
        for i in range(0, len(post_y), BATCH):
            j = min(len(post_y), i + BATCH)
            r = s.observe(FeedbackBatch(post_X[i:j], post_y[i:j], np.zeros(j - i, int), np.arange(SHIFT_AT + i, SHIFT_AT + j),
                                        np.zeros(j - i, bool)), now=0)
            if r.alarm:
                alarms.append(r.alarm.at - SHIFT_AT)
            held.append((j, f1(s.learner, hold_X, rot(hold_y))))
            if name == chosen and (j % 128 < BATCH) and j <= 2048 and s.learner.epoch > 0:
                # the per-candidate path: the head refitted on the (post-shift) reservoir at this point
                head = fit_head(*s.learner.replay.reservoir(), s.learner.head, l2=cfg.l2, anchor=s.learner.anchor)
                refit_held.append((j, f1(head, hold_X, rot(hold_y))))
        out["policies"][name] = {"pre_shift_held_f1": pre, "alarm_delays": alarms, "recovered_after_labels": _recovery(held, pre),
                                 "held_at": {str(n): v for n, v in held if n in (0, 256, 512, 1024, 2048, 4480) or n == len(post_y)},
                                 "curve": held[::4]}
        if name == chosen:
            out["refit_candidate"] = {"held": refit_held, "recovered_after_labels": _recovery(refit_held, pre)}
            out["_rotated_head"] = s.learner.head
    # cost of a false alarm: the chosen policy applied on the unrotated stream at the midpoint
    costs = {}
    for name in ("ignore the alarm", chosen):
        lr = OnlineSoftmax(initial_head(), cfg)
        lr.seed_replay(d.X_seed_oof, d.y[d.seed])
        for i in range(0, SHIFT_AT, BATCH):
            lr.partial_fit(Xs[i:i + BATCH], ys[i:i + BATCH])
        before = f1(lr, hold_X, hold_y)
        lr.on_drift(POLICIES[name])
        track = []
        for i in range(SHIFT_AT, len(ys), BATCH):
            lr.partial_fit(Xs[i:i + BATCH], ys[i:i + BATCH])
            track.append(f1(lr, hold_X, hold_y))
        costs[name] = {"held_before": before, "held_min_after": float(min(track)), "held_end": track[-1]}
    out["false_alarm_cost"] = costs
    return out


def served_section(d: BenchData, tuned: dict, chosen: str) -> dict:
    """The whole loop on the rotated stream, with the code's default cut policy: the session cuts
    candidates (10 % of sources held back by hash), each goes through the A/B state machine on the
    labels that follow (paired log-loss differences against the served head), a promotion is
    published and adopted. The served head's held-back macro-F1 is tracked."""
    Xs, ys = d.X[d.stream], d.y[d.stream]
    hold_X, hold_y = d.X[d.hold], d.y[d.hold]
    rot = lambda v: (v + 1) % 3  # noqa: E731
    X_all = np.vstack([Xs, Xs[:SHIFT_AT]])  # 2,250 labels, the rotation, 4,500 rotated labels (second pass)
    y_all = np.r_[ys[:SHIFT_AT], rot(ys[SHIFT_AT:]), rot(ys[:SHIFT_AT])]
    ids = np.r_[d.stream, d.stream[:SHIFT_AT]]
    held_flag = np.array([bucket(str(k), "holdout") < 0.1 for k in ids])
    bounds = sorted(set(range(0, SHIFT_AT, BATCH)) | set(range(SHIFT_AT, len(y_all), BATCH))) + [len(y_all)]
    s = OnlineSession(initial_head(), SessionConfig(learner=learner_config(tuned), drift_policy=POLICIES[chosen]))
    s.learner.seed_replay(d.X_seed_oof, d.y[d.seed])
    served, experiment, cand, log, timeline = s.published, None, None, [], []
    pre = None
    for i, j in zip(bounds, bounds[1:]):
        Xb, yb = X_all[i:j], y_all[i:j]
        if experiment is not None:
            diffs = log_loss_differences(yb, served.predict_proba(Xb), cand.head.predict_proba(Xb))
            experiment = transition(experiment, LabelledPairs(diffs, at=float(j)))
            if isinstance(experiment.phase, (Promoted, RolledBack)):
                log.append({"at": j, "decision": type(experiment.phase).__name__, "labels": experiment.test.n,
                            "source": cand.source, "reason": experiment.phase.reason})
                if isinstance(experiment.phase, Promoted):
                    s.publish(cand.head)
                    served = cand.head
                experiment = None
        r = s.observe(FeedbackBatch(Xb, yb, np.zeros(j - i, int), np.arange(i, j), held_flag[i:j]), now=float(j))
        if r.cut_due and experiment is None:
            cand = s.cut(now=float(j))
            log.append({"at": j, "cut": cand.reason, "source": cand.source, "held_rows": cand.candidate.n,
                        "candidate_f1": cand.candidate.macro_f1, "published_f1": cand.published.macro_f1,
                        "acceptable": cand.acceptable()})
            if cand.acceptable():
                experiment = start(ExperimentConfig(f"cut-{j}"), at=float(j))
        if j == SHIFT_AT:
            pre = f1(served, hold_X, hold_y)
        if j > SHIFT_AT:
            timeline.append((j - SHIFT_AT, f1(served, hold_X, rot(hold_y))))
    return {"pre_shift_served_f1": pre, "served_recovered_after_labels": _recovery(timeline, pre), "log": log,
            "alarms": [a.at - SHIFT_AT for a in s.alarms], "timeline": timeline[::4]}


# ---------------------------------------------------------------------- cost
def cost_section(d: BenchData, tuned: dict) -> dict:
    Xs, ys = d.X[d.stream], d.y[d.stream]
    learner = OnlineSoftmax(initial_head(), learner_config(tuned))
    learner.seed_replay(d.X_seed_oof, d.y[d.seed])
    times = []
    for rep in range(3):
        for i in range(0, len(ys) - BATCH, BATCH):
            t = time.perf_counter()
            learner.partial_fit(Xs[i:i + BATCH], ys[i:i + BATCH])
            times.append(time.perf_counter() - t)
    times_ms = np.array(times) * 1000
    s = OnlineSession(initial_head(), SessionConfig(learner=learner_config(tuned)))
    s.learner.seed_replay(d.X_seed_oof, d.y[d.seed])
    t = time.perf_counter()
    for i in range(0, len(ys), BATCH):
        j = min(len(ys), i + BATCH)
        s.observe(FeedbackBatch(Xs[i:j], ys[i:j], np.zeros(j - i, int), np.arange(i, j), np.zeros(j - i, bool)), now=0)
    secs = time.perf_counter() - t
    t = time.perf_counter()
    blob = s.to_bytes()
    save_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    OnlineSession.from_bytes(blob)
    load_ms = (time.perf_counter() - t) * 1000
    return {"update_rows": {"new": BATCH, "replayed": int(round(learner.config.replay_ratio * BATCH))}, "update_ms": {"mean": float(times_ms.mean()), "p50": float(np.median(times_ms)), "p99": float(np.percentile(times_ms, 99)),
                          "n": len(times)},
            "session_labels_per_s": len(ys) / secs, "checkpoint_bytes": len(blob), "checkpoint_save_ms": save_ms,
            "checkpoint_load_ms": load_ms}


