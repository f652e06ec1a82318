"""DARTS: Differentiable Architecture Search (Liu, Simonyan, Yang, ICLR 2019), module by module with the paper.

* Sec. 2.1, the search space: `ops` (candidate operations), `genotypes` (a cell as the paper
  writes it), `layout` (where the cells go);
* Sec. 2.2, the continuous relaxation: `search_cell` (`MixedOp`, eq. 2; the search cell), its
  batched twin `fast_cell`, `partial` (PC-DARTS channel sampling), `supernet`;
* Sec. 2.3, the bilevel approximation: `hypergradient` (eqs. 6-8: first order, finite
  differences, exact) and its study `bilevel`;
* Sec. 2.4, deriving the architecture: `genotypes.derive_genotype`, `discretize` (the gap);
  `decision` (did the search choose?), `null` (above what it reaches on shuffled labels?), `planted`
  (can it find a planted cell?);
* Algorithm 1: `config` (`SearchConfig`, the schedules), `search` (`search_many`: several side by
  side); the collapse remedies
  `remedies` (P-DARTS, DARTS-, beta-DARTS, DARTS+) and the supernet's `health`;
* Sec. 3.2, evaluation: `network` (the derived network), `retrain`, `pipeline` (search, derive,
  retrain, in one run directory), `random_search` (the baseline at equal cost);
* `viz` (cells, alphas, curves), `search_space_figure` (Fig. 1: the mixed cell, the supernet, the
  derived cell), `toy` (one edge, for notebook 02).
"""
from . import bilevel, decision, health, hypergradient, null, planted, remedies, viz
from .config import SCHEDULES, SearchConfig
from .decision import cell_decision, chance_agreement, seed_agreement
from .discretize import discrete_weights, discretization_gap
from .genotypes import (
    Genotype,
    GenotypeError,
    count_architectures,
    derive_genotype,
    edge_index,
    node_name,
    num_edges,
    parse_cell,
    random_genotype,
)
from .network import Network
from .ops import OPS, PRIMITIVES, register_op
from .pipeline import plot_run, retrain, run, save_search, search_and_retrain
from .random_search import RandomSearchResult, random_search
from .retrain import build_network, train_network
from .search import SearchResult, arch_lr, build_supernet, make_optimizers, search, search_step
from .search_many import search_many
from .search_space_figure import search_space_figure
from .search_cell import MixedOp, SearchCell
from .supernet import SearchNetwork, fast_copy
from .toy import hidden_op_task

__all__ = [
    "OPS", "PRIMITIVES", "SCHEDULES", "Genotype", "GenotypeError", "MixedOp", "Network", "RandomSearchResult",
    "SearchCell", "SearchConfig", "SearchNetwork", "SearchResult", "arch_lr", "bilevel", "build_network",
    "build_supernet", "cell_decision", "chance_agreement", "count_architectures", "decision", "derive_genotype",
    "discrete_weights", "discretization_gap", "edge_index", "fast_copy", "health", "hidden_op_task", "hypergradient",
    "make_optimizers", "node_name", "null", "num_edges", "parse_cell", "planted", "plot_run", "random_genotype",
    "random_search", "register_op", "remedies", "retrain", "run", "save_search", "search", "search_and_retrain",
    "search_many", "search_space_figure", "search_step", "seed_agreement", "train_network", "viz",
]
