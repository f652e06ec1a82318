"""What every search and training shares, whatever the paper: the machinery under `darts`, `dag_blocks`,
`meta_kernels` and `hands`. It imports none of them.

* configurations: `config` (`Config`, `ConfigError`, range checks); `bilevel` (`BilevelModule`: a searched
  model's alphas and weights);
* runs: `runs` (one setup for every search, one run-directory layout), `loop` (the epoch loop:
  progress, checkpoints, Ctrl-C, resume), `checkpoint`, `runtime` (seeds, devices), `distributed`,
  `workers` (independent jobs side by side in one-thread processes);
* training and evaluation of any model: `training` (`TrainConfig`, `train_model`, `evaluate`,
  `fit_model`, `recalibrate_bn`), `channels_last` (the CPU memory layout where it was measured faster);
* measurement: `host` (the CPU and the instruction sets its kernels use), `timing` (code paths, latency),
  `memory` (peak memory), `cost` (parameters, MACs), `lut` (`LookupTable`: a cost as a sum of per-choice entries), `stats` (mean +- std, Spearman, MAPE);
* reading results: `decision` (did a search choose?), `tables`, `figures`.
"""
from .bilevel import BilevelModule
from .config import BaseSearchConfig, Config, ConfigError, check_choices, check_name, check_ranges
from .cost import count_macs, count_parameters, memory_estimate
from .decision import DECIDED, UndecidedSearchWarning, choice_decision, describe, warn_if_undecided
from .figures import figures_dir, has_dot, savefig
from .lut import LookupTable
from .memory import PeakMemory
from .runs import Run, load_data, resume_or_start, start_run, update_metrics
from .runtime import get_device, set_seed
from .stats import compare_means, compare_samples, mape, mean_std, rank_scores, spearman
from .tables import key_value_table, markdown_table, text_table, write_csv
from .timing import compare, measure, measure_latencies, measure_latency
from .training import TrainConfig, TrainResult, evaluate, fit_model, recalibrate_bn, train_model, training_images
from .workers import call_in_processes

__all__ = [
    "DECIDED", "BaseSearchConfig", "BilevelModule", "Config", "ConfigError", "LookupTable", "PeakMemory", "Run", "TrainConfig", "TrainResult",
    "UndecidedSearchWarning",
    "call_in_processes", "check_choices", "check_name", "check_ranges", "choice_decision", "compare", "count_macs",
    "count_parameters",
    "describe", "evaluate", "figures_dir", "fit_model", "get_device", "has_dot", "key_value_table", "load_data",
    "compare_means", "compare_samples", "mape", "markdown_table", "mean_std", "measure", "measure_latencies", "measure_latency", "memory_estimate",
    "rank_scores", "recalibrate_bn", "resume_or_start", "savefig", "set_seed", "spearman", "start_run", "text_table",
    "train_model", "training_images", "update_metrics", "warn_if_undecided", "write_csv",
]
