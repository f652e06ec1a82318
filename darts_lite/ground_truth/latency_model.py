"""The lookup-table idea checked on 27 real devices: an additive latency model fitted from k measured cells.

The course's LUT (notebook 06) measures each candidate layer alone and adds the entries. On a device
we cannot run, the same form can be *fitted*: measure k whole cells and solve for one term per
(edge, operation),

    lat(cell) = b + sum_e T[e, op_e]                                     (`fit_additive`)

by least squares on the one-hot (edge, operation) features, with `none` as each edge's reference
(T[e, none] = 0: 1 + 6 x 4 = 25 unknowns). With fewer cells than unknowns (k = 10, 20) many
solutions fit exactly; the default takes the one of least norm (`numpy.linalg.lstsq`), which has
no setting to tune. `ridge` > 0 adds lambda * ||T||^2 instead (the intercept not penalised); the
features are 0/1, so lambda is in units of cells and does not depend on the latency's scale. The fit is a
`core.lut.LookupTable`, the type of the course's own table: it predicts, and gives a search LAT(alpha).

Baselines (`baseline_predictions`): MACs and the parameter count (`cell_costs`), each mapped to
milliseconds by a straight line fitted on the same k cells (ranks are the count's own).

Scores on the cells not used to fit (`core.stats.rank_scores`, the score of every cost model): Spearman's rho, Kendall's tau and the mean
absolute percentage error (MAPE). HELP (Lee et al., NeurIPS 2021, Table 3) reports FLOPs' rank
correlation with latency on six devices and its own from 10 samples (`HELP_TABLE3`).
"""
from __future__ import annotations

import numpy as np
from scipy import stats as sps
from tqdm.auto import tqdm

from ..core.lut import LookupTable
from ..core.stats import rank_scores
from .device_latency import DeviceLatency
from .nasbench201 import N_EDGES, NB201_OPS, arch_ops

#: Ridge penalty of `fit_additive`, in cells (the features are 0/1); 0: least squares of least norm.
RIDGE = 0.0
SAMPLE_SIZES = (10, 20, 100)

#: HELP's Table 3 (Lee et al., NeurIPS 2021; the HELP repository's README): Spearman's rho on its
#: six unseen devices, of FLOPs and of HELP from 10 samples of the device. Titan RTX is at batch 256.
HELP_TABLE3 = {
    "titan_rtx_256": {"flops": 0.950, "help_10": 0.987},
    "gold_6226": {"flops": 0.826, "help_10": 0.989},
    "pixel2": {"flops": 0.765, "help_10": 0.802},
    "raspi4": {"flops": 0.846, "help_10": 0.890},
    "eyeriss": {"flops": 0.437, "help_10": 0.940},
    "fpga": {"flops": 0.900, "help_10": 0.985},
}


def op_indices(arch: list[str]) -> np.ndarray:
    """(cells, 6) column of each edge's operation in `NB201_OPS`."""
    column = {op: i for i, op in enumerate(NB201_OPS)}
    return np.array([[column[op] for op in arch_ops(a)] for a in arch], dtype=np.int64)


def design(ops: np.ndarray) -> np.ndarray:
    """(cells, 1 + 6 x 4): an intercept, then one 0/1 feature per (edge, operation other than `none`)."""
    ops = np.asarray(ops)
    n_ops = len(NB201_OPS)
    onehot = np.zeros((len(ops), N_EDGES, n_ops))
    onehot[np.arange(len(ops))[:, None], np.arange(N_EDGES)[None, :], ops] = 1.0
    return np.concatenate([np.ones((len(ops), 1)), onehot[:, :, 1:].reshape(len(ops), -1)], axis=1)


def fit_additive(ops: np.ndarray, latency_ms: np.ndarray, ridge: float = RIDGE,
                 device: str = "fitted") -> LookupTable:
    """The additive LUT b + sum_e T[e, op_e] that best fits these cells' latencies (ridge least squares)."""
    X, y = design(ops), np.asarray(latency_ms, dtype=float)
    if len(X) != len(y) or len(y) < 2:
        raise ValueError(f"need at least 2 cells with one latency each; got {len(X)} cells and {len(y)} latencies")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    penalty = ridge * np.eye(X.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    # lstsq of the augmented system: the ridge solution, and the minimum-norm one where ridge = 0
    coef = np.linalg.lstsq(np.vstack([X, np.sqrt(penalty)]), np.concatenate([y, np.zeros(X.shape[1])]),
                           rcond=None)[0]
    terms = np.concatenate([np.zeros((N_EDGES, 1)), coef[1:].reshape(N_EDGES, len(NB201_OPS) - 1)], axis=1)
    return LookupTable(device, NB201_OPS, {"latency_ms": terms.tolist()}, {"latency_ms": float(coef[0])})


def line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line y = a + b x; a flat line where x does not vary."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if np.ptp(x) == 0:
        return float(y.mean()), 0.0
    slope, intercept = np.polyfit(x, y, 1)
    return float(intercept), float(slope)


def baseline_predictions(counts: LookupTable, ops: np.ndarray, train: np.ndarray, latency_ms: np.ndarray
                         ) -> dict[str, np.ndarray]:
    """Every cell's latency predicted from its MACs and from its parameters, each by a line fitted on `train`."""
    out = {}
    for name, resource in (("flops", "macs"), ("params", "params")):
        count = counts.predict_indices(ops, resource)
        a, b = line_fit(count[train], latency_ms[train])
        out[name] = a + b * count
    return out


def lut_check(latency: DeviceLatency, counts: LookupTable, sample_sizes=SAMPLE_SIZES, seeds=range(5),
              ridge: float = RIDGE, devices=None, progress: bool = True) -> list[dict]:
    """Per device, k and seed: the additive model and both baselines fitted on k random cells, scored on the rest.

    Rows {"device", "k", "seed", "model" ("additive", "flops", "params"), "spearman", "kendall", "mape"}.
    """
    ops = op_indices(latency.arch)
    devices = latency.devices if devices is None else tuple(devices)
    rows = []
    jobs = [(d, k, s) for d in devices for k in sample_sizes for s in seeds]
    for device, k, seed in tqdm(jobs, desc="fit per device", disable=not progress):
        y = latency.of(device)
        rng = np.random.default_rng([seed, k])
        train = rng.choice(len(y), size=k, replace=False)
        test = np.setdiff1d(np.arange(len(y)), train)
        predicted = {"additive": fit_additive(ops[train], y[train], ridge, device).predict_indices(ops, "latency_ms")}
        predicted.update(baseline_predictions(counts, ops, train, y))
        for model, p in predicted.items():
            rows.append({"device": device, "k": k, "seed": seed, "model": model,
                         **rank_scores(p[test], y[test])})
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean over seeds of each (device, k, model): {"device", "k", "model", "spearman", "kendall", "mape", "seeds"}."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["device"], r["k"], r["model"]), []).append(r)
    return [{"device": d, "k": k, "model": m, "seeds": len(g),
             **{s: float(np.mean([r[s] for r in g])) for s in ("spearman", "kendall", "mape")}}
            for (d, k, m), g in groups.items()]


def flops_rank_correlation(latency: DeviceLatency, counts: LookupTable) -> dict[str, float]:
    """Spearman's rho of MACs with measured latency over every cell, per device (HELP's FLOPs row)."""
    macs = counts.predict_indices(op_indices(latency.arch), "macs")
    return {d: float(sps.spearmanr(macs, latency.of(d)).statistic) for d in latency.devices}


def help_protocol(latency: DeviceLatency, counts: LookupTable, k: int = 10, seeds=range(5),
                  ridge: float = RIDGE) -> list[dict]:
    """HELP's meta-test split on its six unseen devices: k cells from rows 0-899 fit, rows 900-1899 score.

    As in the HELP repository's loader, the scored cells are those between the 10th and 90th
    percentile of the device's latency (about 800 cells). Rows {"device", "seed", "additive", "flops",
    "help_10"} hold Spearman's rho.
    """
    ops = op_indices(latency.arch)
    macs = counts.predict_indices(ops, "macs")
    rows = []
    for device in HELP_TABLE3:
        y = latency.of(device)
        query = np.arange(900, 1900)
        low, high = np.percentile(y[query], [10, 90])
        query = query[(y[query] >= low) & (y[query] <= high)]
        flops = float(sps.spearmanr(macs[query], y[query]).statistic)  # no fit: the same for every seed
        for seed in seeds:
            train = np.random.default_rng([seed, k]).choice(900, size=k, replace=False)
            fitted = fit_additive(ops[train], y[train], ridge, device).predict_indices(ops, "latency_ms")
            rows.append({"device": device, "seed": seed, "n_query": int(len(query)),
                         "additive": float(sps.spearmanr(fitted[query], y[query]).statistic),
                         "flops": flops, "help_10": HELP_TABLE3[device]["help_10"]})
    return rows
