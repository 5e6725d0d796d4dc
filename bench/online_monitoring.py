"""``bench/online.py``, the monitoring half: drift detectors on synthetic error streams, A/B
decisions on held-back rows, unlabelled input drift on real embeddings."""

from __future__ import annotations

import time

import numpy as np

from online_data import BenchData
from online_learning import f1

from processors.learning.drift import Adwin, PageHinkley
from processors.learning.drift_eval import calibrate, detection_delay, false_alarms_per_100k
from processors.learning.fold import initial_head
from processors.learning.input_drift import DriftThresholds, domain_classifier_auc, mmd_test, score_shift
from processors.learning.learner import HeadParams, softmax
from processors.learning.rollout import ExperimentConfig, LabelledPairs, Ramping, Shadow, start, transition
from processors.learning.sequential import SequentialConfig, log_loss_differences

CLASS_MEANS = np.array([1.5, 3.0, 4.5])


# ---------------------------------------------------------------------- detectors
def detectors_section() -> dict:
    t = time.perf_counter()
    grid = [0.2, 0.1, 0.05, 0.02, 0.01]
    cal = calibrate(lambda d: Adwin(d), grid, target_per_100k=1.0, events=100_000, runs=5, seed=1000)
    ph_cal = calibrate(lambda th: PageHinkley(th), [10.0, 20.0, 30.0, 40.0, 60.0], target_per_100k=1.0,
                       events=100_000, runs=5, seed=2000)
    makers = {
        f"ADWIN δ={cal.chosen} (calibrated, reset)": lambda: Adwin(cal.chosen),
        f"ADWIN δ={cal.chosen}, no reset (paper)": lambda: Adwin(cal.chosen, reset_on_alarm=False),
        "ADWIN δ=0.002 (common default), reset": lambda: Adwin(0.002),
        f"Page-Hinkley λ={ph_cal.chosen} (calibrated)": lambda: PageHinkley(ph_cal.chosen),
    }
    rows = {}
    for name, make in makers.items():
        rows[name] = {
            "false_alarms_per_100k_p0.12": false_alarms_per_100k(make, 0.12, events=100_000, runs=10, seed=3000),
            "delays": {f"{p1}": detection_delay(make, 0.12, p1, pre=5000, horizon=10_000, runs=100, seed=4000).to_dict()
                       for p1 in (0.16, 0.20, 0.35)},
        }
    return {"adwin_calibration": {"chosen": cal.chosen, "worst_rate_per_100k": {str(k): v for k, v in cal.rates.items()}},
            "page_hinkley_calibration": {"chosen": ph_cal.chosen, "worst_rate_per_100k": {str(k): v for k, v in ph_cal.rates.items()}},
            "detectors": rows, "seconds": time.perf_counter() - t}


# ---------------------------------------------------------------------- A/B
def ab_section(d: BenchData, candidates: dict[str, HeadParams], runs: int) -> dict:
    hold_X, hold_y = d.X[d.hold], d.y[d.hold]
    control = initial_head().predict_proba(hold_X)
    out = {}
    for name, head in candidates.items():
        diffs_all = log_loss_differences(hold_y, control, head.predict_proba(hold_X))
        rng = np.random.default_rng(5000)
        outcomes, labels, phases = [], [], []
        for r in range(runs):
            cfg = ExperimentConfig(f"ab-{r}", min_labels_shadow=200, min_labels_per_step=200,
                                   test=SequentialConfig(alpha=0.05, alpha_rollback=0.05, max_samples=20_000))
            st = start(cfg, at=0.0)
            seen = 0
            last_phase = st.phase
            while True:
                draw = diffs_all[rng.integers(len(diffs_all), size=10)]
                last_phase = st.phase
                st = transition(st, LabelledPairs(draw, at=float(seen)))
                seen += 10
                if not isinstance(st.phase, (Shadow, Ramping)):
                    break
            outcomes.append(type(st.phase).__name__ + (" (inconclusive)" if "inconclusive" in st.phase.reason else ""))
            labels.append(st.test.n)
            phases.append("shadow" if isinstance(last_phase, Shadow) else f"ramp {cfg.ramp[last_phase.step]:.0%}")
        vals, counts = np.unique(outcomes, return_counts=True)
        pv, pc = np.unique(phases, return_counts=True)
        out[name] = {"held_macro_f1": f1(head, hold_X, hold_y), "mean_loss_difference": float(diffs_all.mean()),
                     "sd_loss_difference": float(diffs_all.std()),
                     "outcomes": dict(zip(vals.tolist(), (counts / runs).tolist())),
                     "labels_to_decision": {"median": float(np.median(labels)), "p10": float(np.percentile(labels, 10)),
                                            "p90": float(np.percentile(labels, 90))},
                     "phase_at_decision": dict(zip(pv.tolist(), (pc / runs).tolist()))}
    out["control_held_macro_f1"] = f1(initial_head(), hold_X, hold_y)
    return out


# ---------------------------------------------------------------------- input drift
def input_drift_section(d: BenchData, runs: int) -> dict:
    t0 = time.perf_counter()
    th = DriftThresholds()
    scores = softmax(d.X[:, :3]) @ CLASS_MEANS  # the current model's expected score (linear half)
    E = d.E.astype(np.float64)
    rng = np.random.default_rng(6000)
    out: dict = {}
    by_class = [np.flatnonzero(d.y == c) for c in range(3)]

    def window(n: int, mix: tuple[float, float, float], exclude: np.ndarray) -> np.ndarray:
        counts = np.round(np.array(mix) * n).astype(int)
        return np.concatenate([rng.choice(np.setdiff1d(by_class[c], exclude), counts[c], replace=False) for c in range(3)])

    for scenario, mix in [("same distribution", (1 / 3, 1 / 3, 1 / 3)), ("class mix 60/20/20 (more LQ_CLOSE)", (0.6, 0.2, 0.2))]:
        for n in (250, 1000):
            rows = []
            for r in range(runs):
                ref = window(n, (1 / 3, 1 / 3, 1 / 3), np.array([], int))
                cur = window(n, mix, ref)
                auc = domain_classifier_auc(E[ref], E[cur], seed=r)
                mmd = mmd_test(E[ref], E[cur], seed=r)
                psi = score_shift(scores[ref], scores[cur]).psi
                rows.append((auc, mmd.p_value, psi))
            a = np.array(rows)
            novel = (a[:, 0] > th.auc) & (n >= th.auc_min_rows)
            mixed = a[:, 1] < th.mmd_alpha
            out[f"{scenario}, n={n}+{n}"] = {
                "auc_mean": float(a[:, 0].mean()), "auc_sd": float(a[:, 0].std()),
                "share_auc_over_0.55": float((a[:, 0] > th.auc).mean()),
                "share_mmd_p_under_0.01": float(mixed.mean()),
                "share_flagged (rule)": float((novel | mixed).mean()),
                "psi_mean": float(a[:, 2].mean()), "share_psi_over_0.2": float((a[:, 2] > th.psi).mean()), "runs": runs}
    out["seconds"] = time.perf_counter() - t0
    return out


