"""Online learning of the quality head, measured on the Stack Overflow questions.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/online.py [--out bench/out/online] [--ab-runs 200]

Data, split and head features: ``bench/online_data.py`` (1,500 seed rows fit the current model,
750 held-back rows are never learned, 4,500 stream rows arrive in a fixed seeded order, batches
of 32). Sections:

* **detectors** (synthetic Bernoulli streams, their own seeds): ADWIN's δ calibrated for ≤ 1 false
  alarm per 100k events at error rates 0.05–0.4, then false alarms per 100k and detection delays
  (0.12 → 0.16 / 0.20 / 0.35) on fresh streams; the paper's ADWIN without the reset guard, δ =
  0.002 and a calibrated Page-Hinkley beside it.
* **tuning** (seed rows only): the optimizer, rate, L2, replay ratio and averaging chosen by
  progressive log-loss over the seed rows; the drift policy chosen on a rotation simulated inside
  the seed rows. Nothing is tuned on the stream or the held-back rows.
* **learning curve**: progressive macro-F1 vs labels seen: the frozen current model, the online
  head, and the same head refitted in batch (L-BFGS to convergence) every 500 labels on the same
  rows; held-back macro-F1 at each refit point; variants (no replay, in-sample seeding, AdaGrad).
* **shift**: labels rotated (LQ_CLOSE → LQ_EDIT → HQ → LQ_CLOSE) from the 2,251st stream label on;
  after the rotation the stream continues with a second pass over the stream rows (rotated), 4,500
  labels. ADWIN's detection delay, false alarms on the unrotated stream, and labels needed after
  the shift for the held-back macro-F1 (rotated labels) to come within 2 points of its pre-shift
  level, per drift policy; and what each policy costs after a false alarm.
* **served**: the whole loop on the rotated stream with the code's default cut policy — cuts,
  A/B on the labels that follow, publish — and when the *served* head is back within 2 points.
* **cost**: one mini-batch update (32 new rows plus the replayed ones), the session's labels/s, checkpoint size.
* **A/B**: paired log-loss differences on held-back rows drawn in random order (with replacement),
  through the rollout state machine: a better candidate (the online head), a mildly worse one
  (over-confident: logits × 2.5) and a much worse one (the head learned on rotated labels).
* **input drift**: the domain-classifier AUC (threshold 0.55), MMD and score PSI on real
  embeddings: windows from one distribution, and windows with the class mix shifted; "flagged" is
  the rule of ``processors.learning.input_drift`` (MMD p < 0.01, or AUC > 0.55 from 1,000 rows).

Writes ``online.json`` and ``online.png`` to ``--out`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from online_data import load  # noqa: E402
from online_learning import (cost_section, learning_curve_section, policy_selection_section, served_section,  # noqa: E402
                             shift_section, tuning_section)
from online_monitoring import ab_section, detectors_section, input_drift_section  # noqa: E402

from processors.learning.fold import initial_head  # noqa: E402
from processors.learning.learner import HeadParams  # noqa: E402


# ---------------------------------------------------------------------- report
def machine() -> dict:
    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version(),
            "numpy": np.__version__, "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def chart(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(17, 4.6))
    lc = res["learning_curve"]
    for name, key in [("frozen current model", "frozen"), ("online head", "online"), ("batch refit every 500", "batch")]:
        c = np.array(lc[key]["curve"])
        ax[0].plot(c[:, 0], c[:, 1], label=f"{name} (cumulative)")
    ax[0].set(title="Progressive macro-F1 on the stream", xlabel="labels seen", ylabel="macro-F1")
    ax[0].legend(fontsize=8)
    for name, key in [("online head", "online"), ("batch refit", "batch")]:
        h = np.array(lc[key]["held"])
        ax[1].plot(h[:, 0], h[:, 1], marker="o", label=name)
    ax[1].axhline(lc["frozen"]["held"], color="grey", ls="--", label="frozen current model")
    ax[1].set(title="Held-back macro-F1 (750 rows never learned)", xlabel="labels seen")
    ax[1].legend(fontsize=8)
    for name, p in res["shift"]["policies"].items():
        c = np.array(p["curve"])
        ax[2].plot(c[:, 0], c[:, 1], lw=1, label=f"online: {name}"[:52])
    r = np.array(res["shift"]["refit_candidate"]["held"])
    ax[2].plot(r[:, 0], r[:, 1], "k.", label="refit on the reservoir (candidate path)")
    t = np.array(res["served"]["timeline"])
    ax[2].step(t[:, 0], t[:, 1], "k-", lw=2, where="post", label="served head (cut → A/B → publish)")
    pre = next(iter(res["shift"]["policies"].values()))["pre_shift_held_f1"]
    ax[2].axhline(pre - 0.02, color="grey", ls="--", label="pre-shift level − 2 points")
    ax[2].set(title="After the label rotation: held-back macro-F1", xlabel="labels after the shift")
    ax[2].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def table(res: dict) -> str:
    lines = []
    det = res["detectors"]
    lines.append(f"ADWIN δ calibrated on synthetic streams: {det['adwin_calibration']['chosen']} "
                 f"(worst false alarms/100k by δ: {det['adwin_calibration']['worst_rate_per_100k']})")
    lines.append(f"{'detector':48} {'FA/100k':>8} " + " ".join(f"{'delay→' + p:>12}" for p in ("0.16", "0.2", "0.35")) + "  repeat@0.35")
    for name, r in det["detectors"].items():
        ds = r["delays"]
        lines.append(f"{name:48} {r['false_alarms_per_100k_p0.12']:8.2f} "
                     + " ".join(f"{ds[p]['median']:7.0f} ({ds[p]['missed']:.0%})" for p in ("0.16", "0.2", "0.35"))
                     + f"  {ds['0.35']['repeat']:.0%}")
    lines.append(f"tuned on the seed rows: {res['tuning']['chosen']}")
    lc = res["learning_curve"]
    lines.append(f"{'stream (4,500 labels)':40} {'prog. macro-F1':>15} {'prog. log-loss':>15} {'held-back F1 at end':>20}")
    lines.append(f"{'frozen current model':40} {lc['frozen']['final']['macro_f1']:15.4f} {lc['frozen']['final']['log_loss']:15.4f} {lc['frozen']['held']:20.4f}")
    lines.append(f"{'online head':40} {lc['online']['final']['macro_f1']:15.4f} {lc['online']['final']['log_loss']:15.4f} {lc['online']['held'][-1][1]:20.4f}")
    lines.append(f"{'batch refit every 500':40} {lc['batch']['final']['macro_f1']:15.4f} {lc['batch']['final']['log_loss']:15.4f} {lc['batch']['held'][-1][1]:20.4f}")
    for k, v in lc["variants"].items():
        lines.append(f"{'online, ' + k:40} {v['final']['macro_f1']:15.4f} {v['final']['log_loss']:15.4f} {v['held_final']:20.4f}")
    sh = res["shift"]
    lines.append(f"unshifted stream: {len(sh['unshifted_alarms']['alarms'])} alarm(s) in {sh['unshifted_alarms']['events']} events")
    lines.append(f"{'drift policy (labels rotated at 2,250)':56} {'delay':>6} {'pre F1':>7} {'recovered after':>16} {'F1@512':>7} {'F1@2048':>8}")
    lines.append(f"  (seed-row selection, post-shift log-loss: " + ", ".join(f"{k}: {v['post_log_loss']:.3f}" for k, v in res["policy_selection"]["grid"].items()) + ")")
    for name, p in sh["policies"].items():
        lines.append(f"{name:56} {str(p['alarm_delays'][:2]):>6} {p['pre_shift_held_f1']:7.4f} "
                     f"{str(p['recovered_after_labels']):>16} {p['held_at'].get('512', float('nan')):7.4f} {p['held_at'].get('2048', float('nan')):8.4f}")
    lines.append(f"drift policy chosen on the seed rows: {sh['chosen_policy']}")
    lines.append(f"refit candidate (chosen policy's reservoir, every 128 labels up to 2,048): recovered after "
                 f"{sh['refit_candidate']['recovered_after_labels']} labels; {sh['refit_candidate']['held'][:6]}")
    for k, v in sh["false_alarm_cost"].items():
        lines.append(f"false alarm at 2,250 on the unrotated stream, {k}: held-back F1 {v['held_before']:.4f} → "
                     f"min {v['held_min_after']:.4f}, end {v['held_end']:.4f}")
    sv = res["served"]
    lines.append(f"whole loop (default cut policy): served head back within 2 points {sv['served_recovered_after_labels']} labels "
                 f"after the rotation (pre-shift served F1 {sv['pre_shift_served_f1']:.4f}; alarm after {sv['alarms']})")
    for e in sv["log"]:
        lines.append(f"    {e}")
    c = res["cost"]
    lines.append(f"update ({c['update_rows']['new']} new + {c['update_rows']['replayed']} replayed rows, 405 features): mean {c['update_ms']['mean']:.2f} ms, p99 {c['update_ms']['p99']:.2f} ms; "
                 f"session {c['session_labels_per_s']:.0f} labels/s; checkpoint {c['checkpoint_bytes'] / 1e6:.1f} MB "
                 f"(save {c['checkpoint_save_ms']:.0f} ms, load {c['checkpoint_load_ms']:.0f} ms)")
    ab = res["ab"]
    lines.append(f"A/B (control held-back F1 {ab['control_held_macro_f1']:.4f})")
    for k, v in ab.items():
        if k == "control_held_macro_f1":
            continue
        lines.append(f"  {k:40} F1 {v['held_macro_f1']:.4f} Δloss {v['mean_loss_difference']:+.4f}  {v['outcomes']}  "
                     f"labels median {v['labels_to_decision']['median']:.0f} (p90 {v['labels_to_decision']['p90']:.0f})  {v['phase_at_decision']}")
    for k, v in res["input_drift"].items():
        if k != "seconds":
            lines.append(f"  input drift, {k:45} AUC {v['auc_mean']:.3f}±{v['auc_sd']:.3f}  >0.55 {v['share_auc_over_0.55']:.0%}  "
                         f"MMD p<0.01 {v['share_mmd_p_under_0.01']:.0%}  flagged {v['share_flagged (rule)']:.0%}  PSI {v['psi_mean']:.3f} "
                         f"(>0.2 {v['share_psi_over_0.2']:.0%})")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "online")
    ap.add_argument("--ab-runs", type=int, default=200)
    ap.add_argument("--drift-runs", type=int, default=8)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    d = load()
    res: dict = {"machine": machine(), "data": {"seed": len(d.seed), "held_back": len(d.hold), "stream": len(d.stream),
                                                "current_model_fit_seconds": d.fit_seconds}}
    sections = [("detectors", lambda: detectors_section()), ("tuning", lambda: tuning_section(d)),
                ("learning_curve", lambda: learning_curve_section(d, res["tuning"])),
                ("policy_selection", lambda: policy_selection_section(d, res["tuning"])),
                ("shift", lambda: shift_section(d, res["tuning"], res["policy_selection"]["chosen"])),
                ("served", lambda: served_section(d, res["tuning"], res["policy_selection"]["chosen"])),
                ("cost", lambda: cost_section(d, res["tuning"]))]
    for name, fn in sections:
        t = time.perf_counter()
        res[name] = fn()
        print(f"[{name}: {time.perf_counter() - t:.0f} s]", file=sys.stderr)
    online_head = res["learning_curve"].pop("_online_head")
    rotated = res["shift"].pop("_rotated_head")
    over = HeadParams(initial_head().weights * 2.5, np.zeros(3))
    t = time.perf_counter()
    res["ab"] = ab_section(d, {"better: the online head": online_head, "mildly worse: logits × 2.5": over,
                               "much worse: head after the rotation": rotated}, args.ab_runs)
    print(f"[ab: {time.perf_counter() - t:.0f} s]", file=sys.stderr)
    t = time.perf_counter()
    res["input_drift"] = input_drift_section(d, args.drift_runs)
    print(f"[input drift: {time.perf_counter() - t:.0f} s]", file=sys.stderr)
    res["seconds"] = time.perf_counter() - t0
    (args.out / "online.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    chart(res, args.out / "online.png")
    print(table(res))
    print(f"\nwrote {args.out / 'online.json'} and online.png in {res['seconds']:.0f} s on {res['machine']['cpu']}")


if __name__ == "__main__":
    main()
