"""darts_lite: a readable, tested library for differentiable architecture search, taught on hand images.

One folder per paper, each read beside it:

* `darts/`: DARTS (Liu, Simonyan, Yang, ICLR 2019): search space, continuous relaxation,
  bilevel approximation, derivation, search, retraining;
* `dag_blocks/`: DAG-sampled dense blocks, searched by sampling with feedback;
* `meta_kernels/`: meta-kernels with feedback blocks, and the latency-constrained kernel search;
* `hands/`: the application, gender from 11K Hands images, with its baselines and Grad-CAM;
* `core/`: what they share (configs, the epoch loop, checkpoints, runs, training, timing, tables);
* `data/`: the datasets (11K Hands in `data/hands11k/`);
* `proxies/`: zero-cost proxies (NASWOT, synflow, grad_norm, snip, jacob_cov, the parameter count, FLOPs);
* `course/`: what each notebook found (computed from its results) and its exercises, with their checks.

The layers run one way: `cli` and `course` > `hands` and `ground_truth` > the three papers and `proxies` (independent of each other) > `core` >
`data`; `pyproject.toml` states them as import-linter contracts and `make test` checks them.
The names below are the short path for notebooks and scripts: `from darts_lite import search, SearchConfig`.
"""
from .core.config import ConfigError
from .core.cost import count_parameters
from .core.figures import savefig
from .core.runtime import get_device, set_seed
from .core.training import TrainConfig, TrainResult, evaluate
from .dag_blocks.config import DAGSearchConfig
from .dag_blocks.dag import DAG
from .dag_blocks.search import DAGSearchResult, search_dags, train_dag
from .darts.config import SearchConfig
from .darts.genotypes import Genotype, GenotypeError, derive_genotype
from .darts.network import Network
from .darts.ops import OPS, PRIMITIVES, register_op
from .darts.retrain import train_network
from .darts.search import SearchResult, search, search_step
from .darts.search_cell import MixedOp, SearchCell
from .darts.supernet import SearchNetwork
from .data import DataSplits, Split, load_dataset
from .hands.gradcam import grad_cam, plot_grad_cam

from . import course  # noqa: E402 (last: it reads the library above)

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "DAG", "DAGSearchConfig", "DAGSearchResult",
    "DataSplits", "Genotype", "GenotypeError", "MixedOp", "Network", "OPS", "PRIMITIVES",
    "SearchCell", "course", "SearchConfig", "SearchNetwork", "SearchResult", "Split", "TrainConfig", "TrainResult",
    "count_parameters", "derive_genotype", "evaluate", "get_device", "grad_cam", "load_dataset", "plot_grad_cam",
    "register_op", "savefig", "search", "search_dags", "search_step", "set_seed", "train_dag", "train_network",
]
