"""Ground truth: a small DARTS cell space trained exhaustively here, and every search scored against it.

As NAS-Bench-201 (Dong & Yang, ICLR 2020) does for the field: a space small enough that every cell
has been trained standalone, so that a search's pick can be looked up instead of trusted.

* `space`: the course's cell made small (2 nodes; skip, sep_conv_3x3, max_pool_3x3; the reduction
  cell fixed), its isomorphism classes (`canonical`) and the table's key (`cell_string`);
* `bank`: K derived networks trained as one grouped network; `build`: the resumable table build
  (`BenchConfig`, `build_table`, `python -m darts_lite bench`);
* `table`: `GroundTruth` (lookup, top %, regret, the noise ceiling, the spread); `scoring`: one
  function scores every method (`register_method`, `score_method`);
* `methods`: DARTS (paper schedule, order 1 and 2), the decisive schedule, single-path sampling,
  random search at the same cost; `proxy_methods`: every zero-cost proxy of `darts_lite.proxies`
  (NASWOT and the parameter count among them) by one adapter, and searches that train a proxy's
  top cells; `proxy_study`: how well each proxy ranks the cells (`score_proxies`); `study`: each over seeds and its
  shuffled-label null (`run_study`, `python -m darts_lite score`); `nulls`: the null of `decided`
  for any search configuration;
* `nasbench201`: the field's table (12 epochs), random search against regularised evolution;
  `nb201_search`: DARTS in the benchmark's own space (`search_nb201`), its pick looked up (`look_up`);
* `device_latency`: every benchmark cell's measured latency on 27 device settings (`load_device_latency`);
  `cell_costs`: its MACs and parameters as a LUT; `latency_model`: the additive LUT fitted from k cells
  (`fit_additive`) against FLOPs, and HELP's Table 3; `budget_search`: the best cell under each device's
  budget, searched, and transferred; `device_study`: all of it for notebook 06 (`device_study`), drawn by
  `device_viz`;
* `fresh`: the picks retrained on fresh seeds, beside the median cells (`retrain_study`, `fresh_verdicts`);
* `viz`: the figures of notebook 08.
"""
from . import device_viz, nasbench201, viz
from .bank import BankNetwork
from .device_latency import DeviceLatency, load_device_latency
from .device_study import device_study
from .latency_model import fit_additive, op_indices
from .build import BenchConfig, build_table
from .methods import alpha_scores
from .nb201_search import NB201SearchNetwork, look_up, search_nb201
from .nulls import measure_null
from .proxy_methods import (
    TOP_K, after_training, proxy_method, proxy_networks, proxy_scores, proxy_top_k,
)
from .proxy_study import (
    DEFAULT_PROXY_SCORES, PUBLISHED_SPEARMAN, load_proxy_scores, save_proxy_scores, score_proxies, top_k_versus_random,
)
from .scoring import METHODS, MethodScore, SearchOutcome, register_method, score_all, score_method
from .space import SMALL_PRIMITIVES, all_skip_cells, canonical, cell_string, enumerate_cells, genotype_of, unique_cells
from .fresh import FRESH_SEEDS, fresh_verdicts, load_fresh, median_cells, retrain_study, save_fresh
from .study import (
    DEFAULT_STUDY, DEFAULT_TABLE, FIVE_SEED_STUDY, FRESH, collapse_rows, default_fresh, default_table, load_study,
    method_report, run_study, save_study, study_table,
)
from .table import GroundTruth

__all__ = [
    "BankNetwork", "BenchConfig", "DeviceLatency", "device_study", "device_viz", "fit_additive", "load_device_latency",
    "op_indices", "DEFAULT_PROXY_SCORES", "DEFAULT_STUDY", "DEFAULT_TABLE", "FIVE_SEED_STUDY",
    "FRESH", "FRESH_SEEDS", "GroundTruth", "METHODS", "MethodScore", "NB201SearchNetwork", "PUBLISHED_SPEARMAN",
    "SMALL_PRIMITIVES", "SearchOutcome", "TOP_K", "after_training", "all_skip_cells", "alpha_scores", "build_table",
    "canonical", "cell_string", "collapse_rows", "default_fresh", "default_table", "enumerate_cells",
    "fresh_verdicts", "genotype_of", "load_fresh", "load_proxy_scores", "load_study", "look_up", "measure_null",
    "median_cells", "method_report", "nasbench201", "proxy_method", "proxy_networks", "proxy_scores", "proxy_top_k",
    "register_method", "retrain_study", "run_study", "save_fresh", "save_proxy_scores", "save_study", "score_all",
    "score_method", "score_proxies", "search_nb201", "study_table", "top_k_versus_random", "unique_cells", "viz",
]
