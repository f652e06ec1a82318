"""DAG-sampled dense blocks: dense layers wired by a directed acyclic graph, searched by sampling with feedback.

* `dag` (`DAG`: the wiring of one block, its properties, counting and enumerating the space);
* `sampling` (`DAGSampler`: edge probabilities, moved toward good blocks by a PBIL rule);
* `dense_blocks` (`DAGSupernet`: k blocks sharing their weights, mixed by softmax(alpha);
  `DAGNetwork`: one block trained alone);
* `config` (`DAGSearchConfig`), `search` (`search_dags`, alternating weight and architecture
  phases; `train_dag`, the yardstick), `study` (which block properties predict accuracy), `viz`.
"""
from .config import DAGSearchConfig
from .dag import DAG, count_dags, enumerate_dags
from .dense_blocks import DAGNetwork, DAGSupernet, conv_as_dense, local_mask
from .sampling import DAGSampler, feedback_weights
from .search import DAGSearchResult, search_dags, train_dag
from .study import majority_accuracy, property_correlations, random_dag_study
from .viz import draw_dag, plot_dag, plot_dag_matplotlib, plot_dags

__all__ = [
    "DAG", "DAGNetwork", "DAGSampler", "DAGSearchConfig", "DAGSearchResult", "DAGSupernet",
    "conv_as_dense", "count_dags", "draw_dag", "enumerate_dags", "feedback_weights", "local_mask",
    "majority_accuracy", "plot_dag", "plot_dag_matplotlib", "plot_dags", "property_correlations",
    "random_dag_study", "search_dags", "train_dag",
]
