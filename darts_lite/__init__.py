"""darts_lite: a readable, tested DARTS library (Liu, Simonyan, Yang, ICLR 2019) for teaching.

One concept per module: `ops` (candidate operations), `supernet` (the continuous
relaxation), `hypergradient` (the bilevel approximation), `genotypes`
(derivation), `network` (the derived net), `search` / `train` (loops),
`distributed` (data-parallel search under torchrun), `data`, `viz`, `cli`;
the DAG-wired dense blocks in `dag`, `dag_sampling`, `dense_blocks`,
`dag_search`, `viz_dag`.
"""
from .config import ConfigError, DAGSearchConfig, SearchConfig, TrainConfig
from .dag import DAG
from .dag_search import DAGSearchResult, search_dags, train_dag
from .data import DataSplits, Split, load_dataset
from .genotypes import Genotype, GenotypeError, derive_genotype
from .gradcam import grad_cam, plot_grad_cam
from .network import Network
from .ops import OPS, PRIMITIVES, register_op
from .search import SearchResult, search, search_step
from .supernet import MixedOp, SearchCell, SearchNetwork
from .train import TrainResult, evaluate, train_network
from .utils import count_parameters, get_device, set_seed

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "DAG", "DAGSearchConfig", "DAGSearchResult",
    "DataSplits", "Genotype", "GenotypeError", "MixedOp", "Network", "OPS", "PRIMITIVES",
    "SearchCell", "SearchConfig", "SearchNetwork", "SearchResult", "Split", "TrainConfig", "TrainResult",
    "count_parameters", "derive_genotype", "evaluate", "get_device", "grad_cam", "load_dataset", "plot_grad_cam",
    "register_op", "search", "search_dags", "search_step", "set_seed", "train_dag", "train_network",
]
