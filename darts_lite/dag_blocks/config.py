"""The configuration of a search over DAG-wired dense blocks (`search.search_dags`)."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.config import BaseSearchConfig, check_choices, check_ranges


@dataclass
class DAGSearchConfig(BaseSearchConfig):
    """A search over DAG-wired dense blocks (`search.search_dags`): k blocks of `layers` dense layers."""

    # BaseSearchConfig: name (its default redeclared here), dataset, image_size, data_root
    name: str = "dag_search"         # run directory: runs/<name>/
    grayscale: bool = True           # average the colour channels before flattening the images
    layers: int = 4                  # n: dense layers per block (vertices of each DAG)
    blocks: int = 6                  # k: blocks searched at once
    width: int = 64                  # units per dense layer
    max_skip: int = 0                # longest edge allowed (j - i); 0: no limit
    aggregation: str = "sum"         # how a layer combines its inputs: sum or mean
    rounds: int = 6                  # evaluation rounds, each a weight phase then an architecture phase
    weight_steps: int = 30           # Adam steps on the shared weights per round
    arch_steps: int = 10             # Adam steps on the alphas per round
    weight_lr: float = 1e-3          # Adam learning rate of the shared weights
    arch_lr: float = 0.05            # Adam learning rate of the alphas
    weight_batch: int = 64           # images per weight step
    arch_batch: int = 64             # images per architecture step
    arch_split: str = "val"          # data of the architecture phase: val (search_val) or train (the weights' data)
    sampling: str = "feedback"       # fixed (the same k DAGs), random (resampled) or feedback (resampled, PBIL)
    feedback_lr: float = 0.3         # eta: how far the PBIL update moves the edge probabilities toward good blocks
    temperature: float = 0.1         # T of softmax(alpha / T) in the feedback weights
    elite: int = 1                   # blocks with the highest alpha kept (with their alpha) at resampling
    p_init: float = 0.5              # initial edge probability of the sampler
    seed: int = 0                    # seeds the weights, the alphas, the data split and the batch order
    device: str = "auto"             # auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps

    def __post_init__(self):
        check_ranges(self, {"layers": (2, None), "blocks": (1, None), "width": (1, None), "max_skip": (0, None),
                            "rounds": (1, None), "weight_steps": (1, None), "arch_steps": (0, None),
                            "weight_lr": (0, None), "arch_lr": (0, None), "weight_batch": (1, None),
                            "arch_batch": (1, None), "feedback_lr": (0, 1), "temperature": (1e-6, None),
                            "elite": (0, self.blocks - 1), "p_init": (0.02, 0.98), "seed": (0, None)})
        check_choices(self, {"aggregation": ("sum", "mean"), "arch_split": ("val", "train"),
                             "sampling": ("fixed", "random", "feedback")})
        super().__post_init__()  # the run name
