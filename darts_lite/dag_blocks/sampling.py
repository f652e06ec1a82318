"""Drawing blocks from the space of DAGs, and moving the draw toward the blocks that did well.

`DAGSampler` keeps one probability per allowed edge (i, j). A draw takes each edge independently
with its probability and keeps the graph only if it meets the criteria of `dag.DAG.is_valid`
(rejection sampling: the draw is then exactly the edge model conditioned on validity).

The feedback rule is population-based incremental learning (PBIL; Baluja, 1994), with the
architecture weights as the fitness. After an architecture phase the blocks b = 1..k hold
alphas; with w = softmax(alpha / T) (`feedback_weights`) every edge probability moves toward
the w-weighted share of blocks that contain the edge:

    p_ij <- (1 - eta) p_ij + eta * sum_b w_b [ (i, j) in DAG_b ],   then clipped to [p_min, 1 - p_min].

Blocks the architecture gradient favoured pull the distribution toward their edges; the clip
keeps every valid DAG reachable. A small temperature T sharpens the selection.
"""
from __future__ import annotations

import torch

from .dag import DAG, allowed_pairs


def feedback_weights(alphas: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """softmax(alphas / T): how much each block counts in the feedback update."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return torch.softmax(alphas.detach().float() / temperature, dim=0)


class DAGSampler:
    """An independent-edge distribution over valid n-layer DAGs, updated by feedback (PBIL)."""

    def __init__(self, n: int, max_skip: int | None = None, p_init: float = 0.5, p_min: float = 0.02):
        if not 0 < p_min < 0.5:
            raise ValueError(f"p_min must lie in (0, 0.5), got {p_min!r}")
        if not p_min <= p_init <= 1 - p_min:
            raise ValueError(f"p_init must lie in [p_min, 1 - p_min] = [{p_min}, {1 - p_min}], got {p_init!r}")
        self.n, self.max_skip, self.p_min = n, max_skip, p_min
        self.pairs = allowed_pairs(n, max_skip)
        self.probs = torch.full((len(self.pairs),), float(p_init))

    def edge_matrix(self) -> torch.Tensor:
        """The edge probabilities as an (n, n) matrix (0 where no edge is allowed), for plotting."""
        m = torch.zeros(self.n, self.n)
        for (i, j), p in zip(self.pairs, self.probs.tolist()):
            m[i, j] = p
        return m

    def log_prob(self, dag: DAG) -> float:
        """Log-probability of `dag` under the independent-edge model (before conditioning)."""
        present = torch.tensor([pair in set(dag.edges) for pair in self.pairs])
        return float(torch.where(present, self.probs, 1 - self.probs).log().sum())

    def sample(self, k: int, generator: torch.Generator | None = None, distinct: bool = True,
               max_draws: int = 20_000) -> list[DAG]:
        """k valid DAGs (distinct where the space allows), drawn by rejection in batches of 256.

        Raises RuntimeError if `max_draws` draws give fewer than k valid ones: the edge
        probabilities are then too low to connect the layers (raise p_min or p_init).
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k (blocks to sample) must be an integer >= 1, got {k!r}")
        found: list[DAG] = []
        spare: list[DAG] = []  # valid repeats, used only if the space has fewer than k graphs
        draws = 0
        while len(found) < k and draws < max_draws:
            coins = torch.rand(256, len(self.pairs), generator=generator) < self.probs
            draws += 256
            for row in coins.tolist():
                dag = DAG(self.n, tuple(p for p, on in zip(self.pairs, row) if on))
                if not dag.is_valid(self.max_skip):
                    continue
                (spare if distinct and dag in found else found).append(dag)
                if len(found) == k:
                    break
        found += spare[:k - len(found)]
        if len(found) < k:
            raise RuntimeError(f"only {len(found)} valid DAGs in {draws} draws (needed {k}); the edge "
                               f"probabilities are too low to connect all {self.n} layers; raise p_min or p_init")
        return found

    def update(self, dags: list[DAG], weights: torch.Tensor, lr: float) -> None:
        """The PBIL step of the module docstring: move each p_ij toward the weighted edge share."""
        if len(dags) != len(weights):
            raise ValueError(f"{len(dags)} DAGs but {len(weights)} weights")
        if not 0 <= lr <= 1:
            raise ValueError(f"feedback learning rate must lie in [0, 1], got {lr!r}")
        index = {pair: e for e, pair in enumerate(self.pairs)}
        target = torch.zeros_like(self.probs)
        for dag, w in zip(dags, weights.tolist()):
            for pair in dag.edges:
                target[index[pair]] += w
        target /= max(float(weights.sum()), 1e-12)
        self.probs = ((1 - lr) * self.probs + lr * target).clamp(self.p_min, 1 - self.p_min)

    def state_dict(self) -> dict:
        return {"probs": self.probs.clone()}

    def load_state_dict(self, state: dict) -> None:
        if state["probs"].shape != self.probs.shape:
            raise ValueError(f"sampler state has {state['probs'].numel()} edges, this sampler {self.probs.numel()}")
        self.probs = state["probs"].clone().float()
