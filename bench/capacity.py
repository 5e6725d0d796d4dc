"""The capacity advisor on a recorded load with a step change: forecast error, recommendation, alert.

The load is per-minute input rates (documents/s): ``--base`` for ``--step-at`` minutes, then
``--factor`` × that, to ``--minutes``, with Gaussian noise (``--noise``, relative) from ``--seed``.
A simulated pipeline of ``--workers`` input workers, each processing at most ``--per-worker``
docs/s (±3 % per window), turns it into the :class:`~schemas.aggregates.WindowAggregate` values the
aggregator would publish: documents processed, the input lag at the window's end, busy time (85 %
of the time a worker works; the rest, polling and publishing, is not in a batch's ``total``) and
embedding time (``--embed-share`` of busy time).

Open loop (the workers stay as they are, so the step builds a backlog) it measures:

- the input-rate forecast error, MAE and MAPE at 1 and 5 windows ahead, for target windows before
  the step, after it, and after it once settled (from the 5th window on), against three baselines
  fed the same observed rates: the last value, simple smoothing (α 0.5) and plain Holt (φ 1);
- the lag forecast error at the horizon (with the current workers);
- how many windows after the step the recommended workers first reach the count the new rate needs
  (``ceil(rate × headroom / per-worker)``), and when the ``capacity_lag`` alert fired against when
  the lag actually passed its target.

Closed loop (the recommendation is applied one window later) it reports the peak lag and how long
the lag stays over its target. Then the same over ``--seeds`` seeds (means), and, for comparison,
the forecast error on a ramp to the same level over 10 minutes (where a trend earns its keep). Writes
``capacity.json`` into ``--out`` (default ``bench/out/capacity``).

    .venv/bin/python bench/capacity.py [--seed 7] [--seeds 100] [--minutes 30 --step-at 15 --factor 3]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processors.capacity import CapacityAdvisor, CapacityConfig, DampedHolt  # noqa: E402
from schemas.aggregates import WindowAggregate  # noqa: E402
from schemas.capacity import CapacityForecast  # noqa: E402

W = 60.0
HORIZONS = (1, 5)
BUSY_SHARE = 0.85  # of a working worker's time, inside a micro-batch's ``total``
RAMP_MINUTES = 10


@dataclass(frozen=True)
class Load:
    rates: list[float]
    step_at: int
    before: float
    after: float


def recorded_load(args: argparse.Namespace, seed: int, shape: str = "step") -> Load:
    """The step, or for comparison a ramp to the same level over ``RAMP_MINUTES`` from the same minute."""
    rng = random.Random(seed)
    top = args.base * args.factor
    if shape == "step":
        levels = [args.base if t < args.step_at else top for t in range(args.minutes)]
    else:
        levels = [args.base + (top - args.base) * min(max(t - args.step_at + 1, 0) / RAMP_MINUTES, 1.0)
                  for t in range(args.minutes)]
    return Load([max(v * (1 + rng.gauss(0, args.noise)), 0.0) for v in levels], args.step_at, args.base,
                args.base * args.factor)


def run_pipeline(load: Load, args: argparse.Namespace, config: CapacityConfig, seed: int,
                 closed_loop: bool) -> tuple[list[CapacityForecast], list[list], list[float], list[int]]:
    """Windows through the simulated workers and the advisor: forecasts, alerts, true lags, workers used."""
    rng = random.Random(seed + 1)
    advisor = CapacityAdvisor(config)
    workers, lag = args.workers, 0.0
    forecasts, alerts, lags, used = [], [], [], []
    for t, rate in enumerate(load.rates):
        capacity = args.per_worker * (1 + rng.gauss(0, 0.03))
        lag += rate * W
        done = min(lag, workers * capacity * W)
        lag -= done
        busy = done / capacity * BUSY_SHARE
        window = WindowAggregate(window=f"t{t}", window_start=t * W, window_s=W, documents=round(done),
                                 input_workers=workers, input_lag_messages=round(lag), busy_s=busy,
                                 embed_s=busy * args.embed_share, emitted_at=(t + 1) * W)
        forecast, fired = advisor.update(window)
        forecasts.append(forecast)
        alerts.append(fired)
        lags.append(lag)
        used.append(workers)
        if closed_loop:
            workers = forecast.recommended_workers
    return forecasts, alerts, lags, used


def baseline_forecasts(observed: list[float]) -> dict[str, list[dict[int, float]]]:
    """Per window, the forecast each baseline makes for 1 and 5 windows ahead."""
    models = {"last value": None, "simple smoothing": DampedHolt(0.5, 0.0, 1.0), "Holt (φ 1)": DampedHolt(0.5, 0.2, 1.0)}
    out: dict[str, list[dict[int, float]]] = {name: [] for name in models}
    for value in observed:
        for name, model in models.items():
            if model is None:
                out[name].append({h: value for h in HORIZONS})
            else:
                model.update(value)
                out[name].append({h: model.forecast(h) for h in HORIZONS})
    return out


def errors(load: Load, predictions: list[dict[int, float]]) -> dict[str, dict[str, float | None]]:
    """MAE and MAPE per horizon, by where the window forecast lies: before the step, after, after and settled."""
    spans = {"before": range(1, load.step_at), "after": range(load.step_at, len(load.rates)),
             "settled": range(load.step_at + 5, len(load.rates))}
    out: dict[str, dict[str, float | None]] = {}
    for h in HORIZONS:
        for span, targets in spans.items():
            pairs = [(predictions[t - h][h], load.rates[t]) for t in targets if t - h >= 0]
            abs_err = [abs(p - y) for p, y in pairs]
            out[f"h{h}_{span}"] = {
                "mae": round(statistics.fmean(abs_err), 3) if pairs else None,
                "mape_pct": round(100 * statistics.fmean(e / y for e, (_, y) in zip(abs_err, pairs)), 1) if pairs else None}
    return out


def one_run(args: argparse.Namespace, config: CapacityConfig, seed: int, shape: str = "step") -> dict:
    load = recorded_load(args, seed, shape)
    forecasts, alerts, lags, _ = run_pipeline(load, args, config, seed, closed_loop=False)
    advisor_pred = [{h: f.forecast[h - 1].input_rate for h in HORIZONS} for f in forecasts]
    observed = [f.input_rate for f in forecasts]
    models = {"damped Holt (advisor)": advisor_pred, **baseline_forecasts(observed)}
    H = config.horizon
    spans = (("before", range(load.step_at)), ("after", range(load.step_at, len(lags))))
    lag_err = {span: [abs(forecasts[t - H].horizon_lag_messages - lags[t]) for t in targets if t - H >= 0]
               for span, targets in spans}
    lag_rel = [abs(forecasts[t - H].horizon_lag_messages - lags[t]) / lags[t]
               for t in range(load.step_at, len(lags)) if t - H >= 0 and lags[t] > 0]
    right = math.ceil(load.after * config.headroom / args.per_worker - 1e-9)
    recs = [f.recommended_workers for f in forecasts]
    reached = next((t - load.step_at for t in range(load.step_at, len(recs)) if recs[t] >= right), None)
    fired = next((t for t, a in enumerate(alerts) if any(x.severity != "info" for x in a)), None)
    crossed = next((t for t, lag in enumerate(lags) if config.target_lag is not None and lag > config.target_lag), None)
    closed, _, closed_lags, used = run_pipeline(load, args, config, seed, closed_loop=True)
    over = [t for t, lag in enumerate(closed_lags) if config.target_lag is not None and lag > config.target_lag]
    return {
        "seed": seed, "rates": [round(r, 2) for r in load.rates],
        "errors": {name: errors(load, pred) for name, pred in models.items()},
        "lag_mae_at_horizon": {span: round(statistics.fmean(v), 1) if v else None for span, v in lag_err.items()},
        "lag_mape_after_pct": round(100 * statistics.fmean(lag_rel), 1) if lag_rel else None,
        "right_workers_after_step": right, "recommended_workers": recs,
        "windows_to_right_workers": reached,
        "final_per_worker_rate": forecasts[-1].per_worker_rate, "final_capacity_source": forecasts[-1].capacity_source,
        "first_alert_window": fired, "lag_over_target_window": crossed,
        "closed_loop": {"workers": used, "recommended_replicas": [f.recommended_inference_replicas for f in closed],
                        "peak_lag": round(max(closed_lags)), "windows_over_target": len(over)},
    }


def mean_of(runs: list[dict], get) -> float | None:
    values = [v for v in (get(r) for r in runs) if v is not None]
    return round(statistics.fmean(values), 3) if values else None


def print_errors(main: dict, runs: list[dict]) -> None:
    print(f"{'input-rate forecast':<24}" + "".join(f"{f'h{h} {s}':>22}" for h in HORIZONS
                                                   for s in ("before", "after", "settled")))
    print(f"{'(MAE docs/s, MAPE %)':<24}" + f"{'':>22}" * 6)
    for name in main["errors"]:
        cells = []
        for h in HORIZONS:
            for span in ("before", "after", "settled"):
                seed_e = main["errors"][name][f"h{h}_{span}"]
                mean_mae = mean_of(runs, lambda r: r["errors"][name][f"h{h}_{span}"]["mae"])
                cells.append(f"{seed_e['mae']:.2f} {seed_e['mape_pct']:.0f}% (μ{mean_mae:.2f})")
        print(f"{name:<24}" + "".join(f"{c:>22}" for c in cells))
    print(f"(μ: mean MAE over {len(runs)} seeds)")


def print_report(main: dict, runs: list[dict], ramp: list[dict], args: argparse.Namespace) -> None:
    print(f"load: {args.base:g} docs/s for {args.step_at} min, then ×{args.factor:g} to {args.minutes} min, "
          f"noise {args.noise:.0%}; {args.workers} workers × {args.per_worker:g} docs/s; seed {main['seed']}")
    print_errors(main, runs)
    print(f"lag forecast at the horizon, MAE (messages): before {main['lag_mae_at_horizon']['before']}, "
          f"after {main['lag_mae_at_horizon']['after']} ({main['lag_mape_after_pct']} % of the lag; "
          f"μ after {mean_of(runs, lambda r: r['lag_mae_at_horizon']['after'])}, "
          f"{mean_of(runs, lambda r: r['lag_mape_after_pct'])} %)")
    print(f"recommended workers per window: {main['recommended_workers']}")
    print(f"right count after the step: {main['right_workers_after_step']}; reached {main['windows_to_right_workers']} "
          f"window(s) after the step (μ {mean_of(runs, lambda r: r['windows_to_right_workers'])}; "
          f"never in {sum(r['windows_to_right_workers'] is None for r in runs)} of {len(runs)} seeds)")
    print(f"per-worker capacity at the end: {main['final_per_worker_rate']} docs/s ({main['final_capacity_source']})")
    print(f"capacity_lag alert in window {main['first_alert_window']}; the lag passed its target in window "
          f"{main['lag_over_target_window']} (step at {args.step_at})")
    lead = mean_of(runs, lambda r: None if r["first_alert_window"] is None or r["lag_over_target_window"] is None
                   else r["lag_over_target_window"] - r["first_alert_window"])
    print(f"alert lead (windows before the lag passed its target), mean over seeds: {lead}")
    c = main["closed_loop"]
    print(f"closed loop: workers {c['workers']}; replicas {c['recommended_replicas']}; peak lag {c['peak_lag']}, "
          f"{c['windows_over_target']} window(s) over target (μ peak {mean_of(runs, lambda r: r['closed_loop']['peak_lag'])}, "
          f"μ over {mean_of(runs, lambda r: r['closed_loop']['windows_over_target'])})")
    print(f"\nfor comparison, a ramp to the same level over {RAMP_MINUTES} min from minute {args.step_at} "
          f"(seed {ramp[0]['seed']}; 'settled' starts 5 windows after the ramp starts):")
    print_errors(ramp[0], ramp[1:])
    print(f"ramp: right count reached {ramp[0]['windows_to_right_workers']} window(s) after the ramp started "
          f"(μ {mean_of(ramp[1:], lambda r: r['windows_to_right_workers'])})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=int, default=30)
    p.add_argument("--step-at", type=int, default=15)
    p.add_argument("--base", type=float, default=20.0, help="docs/s before the step")
    p.add_argument("--factor", type=float, default=3.0)
    p.add_argument("--noise", type=float, default=0.08)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--per-worker", type=float, default=10.0, help="docs/s one worker processes at most")
    p.add_argument("--embed-share", type=float, default=0.45)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--seeds", type=int, default=100)
    p.add_argument("--out", type=Path, default=Path("bench/out/capacity"))
    args = p.parse_args()
    config = CapacityConfig()
    main_run = one_run(args, config, args.seed)
    runs = [one_run(args, config, 1000 + s) for s in range(args.seeds)]
    ramp = [one_run(args, config, seed, "ramp") for seed in [args.seed] + [1000 + s for s in range(args.seeds)]]
    print_report(main_run, runs, ramp, args)
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "config": asdict(config), "main": main_run,
              "seeds": [{k: r[k] for k in ("seed", "errors", "lag_mae_at_horizon", "windows_to_right_workers",
                                           "first_alert_window", "lag_over_target_window", "closed_loop")} for r in runs],
              "ramp": {"main": ramp[0], "seeds": [{k: r[k] for k in ("seed", "errors", "windows_to_right_workers")}
                                                  for r in ramp[1:]]}}
    (args.out / "capacity.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"[capacity] wrote {args.out / 'capacity.json'}")


if __name__ == "__main__":
    main()
