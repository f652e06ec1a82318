"""darts_lite: a readable, tested DARTS library (Liu, Simonyan, Yang, ICLR 2019) for teaching.

One concept per module: `ops` (candidate operations), `supernet` (the continuous
relaxation), `hypergradient` (the bilevel approximation), `genotypes`
(derivation), `network` (the derived net), `search` / `train` (loops),
`data`, `viz`, `cli`.
"""
from .config import ConfigError, SearchConfig, TrainConfig
from .data import DataSplits, Split, load_dataset
from .genotypes import Genotype, GenotypeError, derive_genotype
from .network import Network
from .ops import OPS, PRIMITIVES, register_op
from .search import SearchResult, search, search_step
from .supernet import MixedOp, SearchCell, SearchNetwork
from .train import TrainResult, evaluate, train_network
from .utils import count_parameters, get_device, set_seed

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "DataSplits", "Genotype", "GenotypeError", "MixedOp", "Network", "OPS", "PRIMITIVES",
    "SearchCell", "SearchConfig", "SearchNetwork", "SearchResult", "Split", "TrainConfig", "TrainResult",
    "count_parameters", "derive_genotype", "evaluate", "get_device", "load_dataset", "register_op",
    "search", "search_step", "set_seed", "train_network",
]
