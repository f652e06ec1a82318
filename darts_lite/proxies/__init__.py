"""Zero-cost proxies: a network scored before any training, from one batch or from no data at all.

A layer beside the papers (it imports `core`, `data`, `readers` and torch, never a paper's folder):
`base` holds the `Proxy` record and the registry `PROXIES` (`register_proxy`); each proxy is one
module with one registration line, its paper and equation in its docstring:

* `naswot`: log|K_H| of the ReLU codes (Mellor et al., ICML 2021, eq. 2);
* `synflow`: synaptic flow on |weights| and an all-ones input (Tanaka et al., NeurIPS 2020);
* `grad_norm`, `snip`: the loss's gradient norms and connection sensitivity (Abdelfattah et al., ICLR
  2021; Lee et al., ICLR 2019);
* `jacob_cov`: the correlation of the input Jacobians (Mellor et al., arXiv 2020 v1, eq. 2);
* `params`, `flops`: the parameter count and the FLOPs, the baselines a proxy must beat.

`ground_truth.proxy_methods` scores every registered proxy on the course's ground truth.
"""
# In the order of `PROXIES`: each module registers its proxy.
from . import naswot, synflow, grad_norm, snip, jacob_cov, params, flops  # noqa: F401
from .base import DEPENDENCIES, PROXIES, Proxy, register_proxy, scratch_copy, weighted_layers
from .jacob_cov import jacobian_correlation
from .naswot import naswot_kernel, naswot_score

__all__ = ["DEPENDENCIES", "PROXIES", "Proxy", "jacobian_correlation", "naswot_kernel", "naswot_score",
           "register_proxy", "scratch_copy", "weighted_layers"]
