"""Grad-CAM: where a convolutional network looks (Selvaraju et al., 2017, Sec. 3, Eq. 1-2).

For class c with pre-softmax score (logit) y^c and the K feature maps A^k of a target layer, each
H' x W', Grad-CAM weighs every map by its average gradient and keeps the positive part:

    alpha_k^c = (1/Z) sum_ij dy^c / dA^k_ij        (Eq. 1, Z = H' W')
    L^c       = ReLU(sum_k alpha_k^c A^k)           (Eq. 2)

then upsamples L^c bilinearly to the input size and divides each map by its maximum (an all-zero
map stays zero). When the network ends in features -> global average pooling -> linear layer W,
alpha_k^c = W[c, k] / Z and Grad-CAM is the CAM of Zhou et al. (2016) (Sec. 3.1 of the paper).

The target layer, when not given, is found by a forward pass with a hook on every module: it is the
module whose output was, in execution order, the last 4-D tensor (N, K, H', W') with H' W' > 1, i.e.
the last spatial feature map before the pooling. A container finishes after its children, so this
is the outermost block producing that map: the last cell of darts_lite's `Network`, `1.layer2` of
`baselines.hand_made("resnet18", ...)` on 16x16 images (its layer3 and layer4 are already 1x1).
"""
from __future__ import annotations

import difflib
import math
from contextlib import contextmanager
from typing import TYPE_CHECKING, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

if TYPE_CHECKING:  # matplotlib is imported by plot_grad_cam only, so `import darts_lite` stays light
    from matplotlib.figure import Figure


def grad_cam(model: nn.Module, images: torch.Tensor, target_layer: nn.Module | str | None = None,
             class_idx: int | Sequence[int] | torch.Tensor | None = None, return_weights: bool = False):
    """Grad-CAM maps (N, H, W) in [0, 1] of `class_idx` (None: the predicted class) for `images` (N, C, H, W).

    `target_layer`: None (the rule of the module docstring), a submodule of `model`, or its dotted
    name as `model.get_submodule` takes it. `class_idx`: None, one int for every image, or one per
    image. The model runs in eval mode (the images of a batch do not interact, so the gradient of
    the summed scores is each image's own); every module's training flag is restored afterwards.
    If the target layer runs more than once in a forward pass, its last output is used. With
    `return_weights=True`, returns (maps, alpha) with alpha (N, K) the weights of Eq. 1.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"grad_cam expects images of shape (N, C, H, W), got {shape}; "
                         "add a batch dimension for one image: images.unsqueeze(0)")
    with _eval_mode(model), torch.enable_grad():
        layer, name = _resolve_layer(model, images, target_layer)
        A, logits = _forward_capture(model, images, layer, name)
        c = _class_indices(class_idx, logits)
        (grads,) = torch.autograd.grad(logits.gather(1, c[:, None]).sum(), A)
    alpha = grads.mean(dim=(2, 3))                                       # Eq. 1
    cam = F.relu((alpha[:, :, None, None] * A.detach()).sum(dim=1))      # Eq. 2
    cam = F.interpolate(cam[:, None], size=images.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.amax(dim=(1, 2), keepdim=True)
    maps = cam / peak.clamp_min(torch.finfo(cam.dtype).tiny)  # 0 / tiny = 0: an all-zero map stays zero
    return (maps, alpha) if return_weights else maps


def default_target_layer(model: nn.Module, images: torch.Tensor) -> str:
    """The dotted name of the module whose output is the last 4-D feature map larger than 1x1 (in eval mode)."""
    last = []

    def hook(module, inputs, output):
        if isinstance(output, torch.Tensor) and output.ndim == 4 and output.shape[-2] * output.shape[-1] > 1:
            last[:] = [module]

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    try:
        with _eval_mode(model), torch.no_grad():
            model(images[:1])  # one image is enough to see the shapes
    finally:
        for h in handles:
            h.remove()
    if not last:
        raise ValueError("no module of the model produced a 4-D feature map larger than 1x1 on these images; "
                         "use larger images or pass target_layer=<a convolutional layer>")
    return next(n for n, m in model.named_modules() if m is last[0])


@contextmanager
def _eval_mode(model: nn.Module):
    """Run `model` in eval mode, then give every module back its own training flag (even on errors)."""
    flags = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for m, training in flags.items():
            m.training = training


def _resolve_layer(model: nn.Module, images: torch.Tensor, target_layer) -> tuple[nn.Module, str]:
    """(module, dotted name) of the target layer given as None, a name or a module."""
    if target_layer is None:
        target_layer = default_target_layer(model, images)
    if isinstance(target_layer, str):
        try:
            return model.get_submodule(target_layer), target_layer
        except AttributeError:
            names = [n for n, _ in model.named_modules() if n]
            hint = difflib.get_close_matches(target_layer, names, n=5, cutoff=0.5) or names[:8]
            raise ValueError(f"the model has no submodule {target_layer!r}; names look like {hint} "
                             "(all of them: [n for n, _ in model.named_modules()])") from None
    if isinstance(target_layer, nn.Module):
        name = next((n for n, m in model.named_modules() if m is target_layer), None)
        if name is None:
            raise ValueError(f"target_layer ({type(target_layer).__name__}) is not a submodule of the model; "
                             "pass one of model.modules() or its name")
        return target_layer, name
    raise ValueError(f"target_layer must be None, a submodule or its dotted name, got {type(target_layer).__name__}")


def _forward_capture(model: nn.Module, images: torch.Tensor, layer: nn.Module, name: str):
    """(A, logits): the target layer's output as a leaf that requires grad, and the model's logits."""
    captured = []

    def hook(module, inputs, output):
        if not isinstance(output, torch.Tensor) or output.ndim != 4:
            got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise ValueError(f"target layer {name!r} ({type(module).__name__}) outputs {got}, but Grad-CAM needs "
                             "a 4-D feature map (N, K, H, W); choose a convolutional layer or block, "
                             "or target_layer=None for the last one")
        # A leaf, so that the gradient exists even with frozen parameters; the rest of the network gets a
        # copy, so that in-place operations after the layer (ReLU(inplace=True), +=) cannot overwrite A.
        A = output.detach().requires_grad_(True)
        captured[:] = [A]
        return A.clone()

    handle = layer.register_forward_hook(hook)
    try:
        out = model(images)
    finally:
        handle.remove()
    if not captured:
        raise ValueError(f"target layer {name!r} did not run in the forward pass (in eval mode); choose a layer "
                         "on the path from the input to the logits")
    logits = out[0] if isinstance(out, (tuple, list)) else out  # Network may return (logits, aux_logits)
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or len(logits) != len(images):
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"the model must return logits of shape (N, num_classes) = ({len(images)}, ...), got {got}")
    return captured[0], logits


def _class_indices(class_idx, logits: torch.Tensor) -> torch.Tensor:
    """class_idx as a (N,) long tensor, checked against the number of classes; None is the argmax."""
    n, num_classes = logits.shape
    if class_idx is None:
        return logits.argmax(dim=1)
    c = torch.as_tensor(class_idx, device=logits.device)
    if c.dtype.is_floating_point or c.dtype.is_complex or c.dtype == torch.bool:
        raise ValueError(f"class_idx must hold integer class indices, got dtype {c.dtype}")
    if c.ndim == 0:
        c = c.expand(n)
    if c.shape != (n,):
        raise ValueError(f"class_idx must be an int or hold one class per image, shape ({n},); got {tuple(c.shape)}")
    bad = c[(c < 0) | (c >= num_classes)]
    if len(bad):
        raise ValueError(f"class_idx {bad.tolist()} out of range: the model has {num_classes} classes "
                         f"(0 to {num_classes - 1})")
    return c.long()


def plot_grad_cam(images: torch.Tensor, maps: torch.Tensor, titles: Sequence[str] | None = None,
                  mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                  ncols: int = 4, alpha: float = 0.45) -> Figure:
    """Each image under its heat map ("jet", opacity `alpha`), `ncols` per row, titles above.

    With the per-channel `mean` and `std` of the normalisation, images are un-normalised and
    clipped to [0, 1]; without them each image is stretched to [0, 1] for display.
    """
    from matplotlib.figure import Figure

    images = images.detach().cpu().double()
    maps = torch.as_tensor(maps).detach().cpu().double()
    if images.ndim != 4 or maps.ndim != 3 or len(images) != len(maps) or images.shape[-2:] != maps.shape[-2:]:
        raise ValueError(f"plot_grad_cam takes images (N, C, H, W) and maps (N, H, W) with the same N, H and W; "
                         f"got images {tuple(images.shape)} and maps {tuple(maps.shape)}")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"got {len(titles)} titles for {len(images)} images; give one per image or none")
    if (mean is None) != (std is None):
        raise ValueError("give both mean and std (the per-channel statistics of the normalisation), or neither")
    if mean is not None:
        mean, std = (torch.as_tensor(v, dtype=images.dtype).reshape(-1) for v in (mean, std))
        if len(mean) != images.shape[1] or len(std) != images.shape[1]:
            raise ValueError(f"mean and std need one value per channel ({images.shape[1]}), "
                             f"got {len(mean)} and {len(std)}")
        images = (images * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)).clamp(0, 1)
    else:
        lo, hi = images.amin(dim=(1, 2, 3), keepdim=True), images.amax(dim=(1, 2, 3), keepdim=True)
        images = (images - lo) / (hi - lo).clamp_min(1e-12)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(2.2 * ncols, 2.4 * nrows), layout="constrained")
    for i in range(n):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        if images.shape[1] == 3:
            ax.imshow(images[i].permute(1, 2, 0).numpy())
        else:  # grey, or a channel count that has no colour rendering: the channel mean
            ax.imshow(images[i].mean(dim=0).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.imshow(maps[i].numpy(), cmap="jet", alpha=alpha, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
        ax.axis("off")
    return fig
