"""Decoding, resizing and caching the 11K Hands JPEGs, plus augmentation for retraining.

The 11K Hands images (Afifi, 2019, doi:10.1007/s11042-019-7424-8) are landscape
4:3 photographs, width x height 1600x1200 in the full set and 240x180 in the
mini set, with the wrist at the top and the fingers pointing down. Sizes here
are (height, width): a 4:3 target is e.g. (96, 128); a square int size squeezes
the width (nothing is cropped, so no finger is cut off).

Decoding thousands of JPEGs dominates the load time, so the resized uint8
images are cached with `torch.save`, keyed by the files (paths, sizes, mtimes),
the output size and the colour mode: a second load only reads one file.
"""
from __future__ import annotations

import hashlib
import os
import stat
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..base import check_image_size

CACHE_VERSION = 2  # bump when the decoding changes, so that old caches are not reused


def as_hw(size) -> tuple[int, int]:
    """(height, width) from a square int size or an (H, W) pair, validated."""
    hw = (size, size) if isinstance(size, int) and not isinstance(size, bool) else tuple(size)
    if len(hw) != 2:
        raise ValueError(f"size must be an int or an (H, W) pair, got {size!r}; e.g. 64 or (96, 128)")
    for s in hw:
        check_image_size(s)
    return hw


def _writable(directory: Path) -> bool:
    """Whether files may be written in `directory`, honouring read-only mode bits even for root."""
    if not directory.is_dir():
        return False
    # root passes os.access everywhere; the mode bits say whether the owner meant it read-only.
    return bool(directory.stat().st_mode & stat.S_IWUSR) and os.access(directory, os.W_OK)


def default_cache_dir(root) -> Path:
    """`<root>/.cache` when root is writable, else `$XDG_CACHE_HOME/darts_lite` (~/.cache/darts_lite)."""
    if _writable(Path(root)):
        return Path(root) / ".cache"
    # A shared, read-only copy of the data (as on a course server) still gets a cache.
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "darts_lite"


def _cache_key(paths: Sequence[Path], hw: tuple[int, int], grayscale: bool) -> str:
    digest = hashlib.sha256(f"v{CACHE_VERSION} {hw} gray={grayscale}\n".encode())
    for p in paths:
        try:
            st = p.stat()
            stamp = f"{st.st_size} {st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        digest.update(f"{p} {stamp}\n".encode())
    return digest.hexdigest()[:20]


# Why an image was left out, from what the decoder raised (`unreadable_reason`).
PIXEL_LIMIT = "refused unread: more pixels than Pillow's limit (Image.MAX_IMAGE_PIXELS; a decompression bomb?)"
NOT_AN_IMAGE = "not an image Pillow can identify (an unknown format or a malformed header)"
TRUNCATED = "truncated or corrupt image data"
UNSUPPORTED = "an image mode or format Pillow cannot convert to RGB"


def unreadable_reason(err: BaseException) -> str:
    """The reason, in words, for an image the decoder could not (or would not) decode safely."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(err, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return PIXEL_LIMIT
    if isinstance(err, UnidentifiedImageError):
        return NOT_AN_IMAGE
    if isinstance(err, (OSError, SyntaxError, EOFError)):  # "image file is truncated", "broken data stream"
        return TRUNCATED
    if isinstance(err, (ValueError, KeyError, TypeError, NotImplementedError)):  # "conversion ... not supported"
        return UNSUPPORTED
    return f"the decoder failed ({type(err).__name__})"


def _decode(path: Path, hw: tuple[int, int], grayscale: bool):
    """(uint8 array H, W, C, was_non_rgb) for one image; raises what the decoder raised.

    An image above Pillow's pixel limit is refused from its header, before a pixel is decoded: Pillow
    itself raises above twice the limit and only warns between once and twice; `_decode_all` turns that
    warning into the error.
    """
    from PIL import Image  # lazy: only needed when decoding

    with Image.open(path) as im:
        non_rgb = im.mode != "RGB"
        if not non_rgb:
            # JPEG draft decoding shrinks by 1/2, 1/4 or 1/8 inside the decoder, several
            # times faster than decoding the full image and resizing afterwards.
            im.draft("L" if grayscale else "RGB", (hw[1], hw[0]))
        im.load()
        im = im.convert("RGB")
        if grayscale:
            im = im.convert("L")
        im = im.resize((hw[1], hw[0]), Image.BILINEAR)  # PIL antialiases when shrinking
        arr = np.asarray(im, dtype=np.uint8)
    return (arr[:, :, None] if arr.ndim == 2 else arr), non_rgb


def _decode_all(paths: Sequence[Path], hw, grayscale: bool, strict: bool):
    """(uint8 tensor N, C, H, W of the readable images, {unreadable path: reason}, non-RGB count)."""
    from PIL import Image

    def work(path):
        try:
            return _decode(path, hw, grayscale)
        except Exception as err:  # whatever the decoder raises, the image is left out with its reason
            if strict:
                raise OSError(f"cannot read image {path}: {unreadable_reason(err)} ({type(err).__name__}: {err}). "
                              "Re-download it, delete it, or pass strict=False to leave unreadable images "
                              "out") from err
            return err

    with warnings.catch_warnings():  # the pixel limit refuses (never warns and decodes) in every thread
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
            results = list(pool.map(work, paths))  # PIL releases the GIL while decoding
    good = [r[0] for r in results if not isinstance(r, Exception)]
    bad = {str(p): unreadable_reason(r) for p, r in zip(paths, results) if isinstance(r, Exception)}
    non_rgb = sum(1 for r in results if not isinstance(r, Exception) and r[1])
    channels = 1 if grayscale else 3
    images = (torch.from_numpy(np.stack(good)).permute(0, 3, 1, 2).contiguous() if good
              else torch.zeros((0, channels, *hw), dtype=torch.uint8))
    return images, bad, non_rgb


def load_images(paths: Sequence, size=64, grayscale: bool = False, cache_dir=None,
                strict: bool = False) -> tuple[torch.Tensor, dict[str, str]]:
    """Decode and resize images to a uint8 (N, C, H, W) tensor, cached; returns (images, {bad path: reason}).

    `size` is an int (square) or (H, W). An image that cannot be decoded safely, for any reason the
    decoder gives (truncated, not an image, an unconvertible mode, above Pillow's pixel limit), is
    left out and named with its reason (`unreadable_reason`); `strict=True` raises at the first instead.
    The pixel limit stays on: an oversized image is refused from its header, before it is decoded.
    The tensor holds the readable images in the order of `paths`. `cache_dir=None` means
    `default_cache_dir` of the image folder's parent (the dataset root); `cache_dir=False` turns the cache off.
    """
    hw = as_hw(size)
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("load_images got no paths; check the image folder and filters")
    # The cache holds the unique files in sorted order, so any order of the same files hits it.
    unique = sorted(set(paths))
    cache_file = None
    if cache_dir is not False:
        if cache_dir is None:
            cache_dir = default_cache_dir(Path(os.path.commonpath([p.parent for p in unique])).parent)
        gray = "gray" if grayscale else "rgb"
        cache_file = Path(cache_dir) / f"hands11k_{hw[0]}x{hw[1]}_{gray}_{_cache_key(unique, hw, grayscale)}.pt"

    cached = _read_cache(cache_file)
    if cached is None:
        images, bad, non_rgb = _decode_all(unique, hw, grayscale, strict)
        cached = {"images": images, "bad": bad, "non_rgb": non_rgb}
        _write_cache(cache_file, cached)
    elif strict and cached["bad"]:
        path, reason = next(iter(cached["bad"].items()))
        raise OSError(f"cannot read image {path}: {reason} (remembered in the cache {cache_file}). "
                      "Re-download it, delete it, or pass strict=False to leave unreadable images out")

    bad = dict(cached["bad"])
    if cached["non_rgb"]:
        warnings.warn(f"converted {cached['non_rgb']} non-RGB images to RGB", stacklevel=2)
    if bad:
        warnings.warn(f"left out {len(bad)} unreadable images: {_by_reason(bad)}; re-download them, "
                      "or pass strict=True to stop at the first", stacklevel=2)
    row = {p: i for i, p in enumerate(q for q in unique if str(q) not in bad)}
    order = [row[p] for p in paths if str(p) not in bad]
    images = cached["images"]
    if order != list(range(len(images))):  # the common case (sorted paths) needs no copy
        images = images.index_select(0, torch.tensor(order, dtype=torch.int64))
    return images, bad


def _by_reason(bad: dict[str, str], show: int = 3) -> str:
    """'2 truncated or corrupt image data (a.jpg, b.jpg); 1 ...': the unreadable images grouped by reason."""
    groups: dict[str, list[str]] = {}
    for path, reason in bad.items():
        groups.setdefault(reason, []).append(Path(path).name)
    return "; ".join(f"{len(names)} {reason} ({', '.join(names[:show])}{', ...' if len(names) > show else ''})"
                     for reason, names in groups.items())


def _read_cache(cache_file: Path | None):
    if cache_file is None or not cache_file.is_file():
        return None
    try:
        return torch.load(cache_file, weights_only=True)
    except Exception as err:  # a damaged cache is rebuilt, never fatal
        warnings.warn(f"ignoring unreadable image cache {cache_file} ({err}); rebuilding it")
        return None


def _write_cache(cache_file: Path | None, content: dict) -> None:
    if cache_file is None:
        return
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so that an interrupted save never leaves a half-written cache.
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        torch.save(content, tmp)
        os.replace(tmp, cache_file)
    except OSError as err:
        warnings.warn(f"could not write the image cache {cache_file} ({err}); pass a writable "
                      "cache_dir to make the next load fast")


def train_transforms(image_size=64):
    """Random flip, small affine, resized crop and colour jitter for retraining on hands.

    The search itself uses no augmentation, so that search_train and search_val
    stay fixed tensors. Apply these to float images in [0, 1] before normalising:
    colour jitter clamps to [0, 1] and the affine fills with white (1.0). On a batched (N, C, H, W)
    tensor torchvision draws one set of random parameters for the whole batch;
    call it per image for independent augmentations. A flip makes a left hand
    look like a right one, so do not use it to predict the side.
    """
    from torchvision.transforms import v2  # lazy: torchvision is slow to import

    hw = as_hw(image_size)
    ratio = hw[1] / hw[0]
    return v2.Compose([
        v2.RandomHorizontalFlip(),
        v2.RandomAffine(degrees=10, translate=(0.05, 0.05), scale=(0.95, 1.05), fill=1.0),
        v2.RandomResizedCrop(hw, scale=(0.85, 1.0), ratio=(0.9 * ratio, 1.1 * ratio), antialias=True),
        v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2),
    ])
