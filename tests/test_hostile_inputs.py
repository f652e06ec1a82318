"""Hostile and oversized inputs: every file is left out or refused with its name and reason, never a crash.

Each file is made here, small on disk: images that are truncated, not images, malformed, in a mode that
cannot become RGB, that raise an exception type of their own, or that declare more pixels than Pillow's
limit (a decompression bomb); genotype, config, run, cost-table and metadata files of the wrong kind or far
too large.
"""
import json
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from darts_lite import readers
from darts_lite.core.checkpoint import load_checkpoint
from darts_lite.core.config import ConfigError
from darts_lite.core.runs import claim, read_jsonl, update_metrics
from darts_lite.core.training import TrainConfig
from darts_lite.darts.config import SearchConfig
from darts_lite.darts.genotypes import Genotype, GenotypeError
from darts_lite.data.hands11k import images as I
from darts_lite.data.hands11k.images import load_images
from darts_lite.hands.config import load_config
from darts_lite.meta_kernels.cost_table import CostTable


def png(path: Path, width: int, height: int, color_type: int = 0, rows: bool = True) -> Path:
    """A grey (0) or RGB (2) 8-bit PNG of one colour, streamed row by row: megapixels in a few kB on disk.

    `rows=False` writes the header alone (no pixel data): the size a decoder reads before anything else.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z, data = zlib.compressobj(9), b""
    if rows:
        row = b"\0" * (1 + width * (3 if color_type == 2 else 1))  # filter byte, then the samples
        data = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def jpeg(path: Path, seed: int = 0, size: tuple[int, int] = (24, 18)) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG")
    return path


# ---------------------------------------------------------------------------------------------- images

def test_every_kind_of_unreadable_image_is_left_out_named_and_counted_under_its_reason(tmp_path, monkeypatch):
    good = [jpeg(tmp_path / f"good{i}.jpg", seed=i) for i in range(2)]
    truncated = jpeg(tmp_path / "truncated.jpg", seed=5)
    truncated.write_bytes(truncated.read_bytes()[:200])
    text = tmp_path / "text.jpg"
    text.write_text("an HTML error page saved as a .jpg")
    malformed = png(tmp_path / "malformed.png", 4, 4, color_type=1)  # no PNG has colour type 1
    bomb = png(tmp_path / "bomb.png", 20_000, 20_000, rows=False)    # 4e8 pixels: over twice the default limit
    unconvertible = jpeg(tmp_path / "unconvertible.jpg", size=(5, 7))
    odd = jpeg(tmp_path / "odd.jpg", size=(7, 5))
    convert = Image.Image.convert

    def decoder(self, mode=None, *args, **kwargs):  # what the decoder says of two images of their own sizes
        if self.size == (5, 7):
            raise ValueError("conversion from La to RGB not supported")
        if self.size == (7, 5):
            raise RuntimeError("an exception type no list names")
        return convert(self, mode, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "convert", decoder)
    paths = [good[0], truncated, text, malformed, bomb, unconvertible, odd, good[1]]
    with pytest.warns(UserWarning, match="left out 6 unreadable images") as said:
        images, bad = load_images(paths, 8, cache_dir=tmp_path / "cache")
    assert images.shape == (2, 3, 8, 8)
    assert bad == {str(truncated): I.TRUNCATED, str(text): I.NOT_AN_IMAGE, str(malformed): I.NOT_AN_IMAGE,
                   str(bomb): I.PIXEL_LIMIT, str(unconvertible): I.UNSUPPORTED,
                   str(odd): "the decoder failed (RuntimeError)"}
    message = str(said[0].message)
    assert all(p.name in message for p in paths[1:-1]) and "1 refused unread" in message
    with pytest.warns(UserWarning, match="left out 6 unreadable images"):  # from the cache, with the reasons
        again, remembered = load_images(paths, 8, cache_dir=tmp_path / "cache")
    assert torch.equal(again, images) and remembered == bad
    assert Image.MAX_IMAGE_PIXELS is not None  # the limit stays on
    with pytest.raises(OSError, match="bomb.png: refused unread"):
        load_images([good[0], bomb], 8, cache_dir=False, strict=True)


def test_an_image_between_once_and_twice_the_pixel_limit_is_refused_not_decoded(tmp_path, monkeypatch):
    """Pillow only warns there (and would decode it): the loader refuses it like a bomb, from its header."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)
    small, over = jpeg(tmp_path / "small.jpg", size=(12, 12)), jpeg(tmp_path / "over.jpg", size=(20, 20))  # 144, 400
    with pytest.warns(UserWarning, match="left out 1 unreadable"):
        images, bad = load_images([small, over], 8, cache_dir=False)
    assert bad == {str(over): I.PIXEL_LIMIT} and len(images) == 1


MEASURE = textwrap.dedent("""
    import json, sys, warnings
    from PIL import Image
    from darts_lite.core.memory import PeakMemory
    from darts_lite.data.hands11k.images import load_images
    paths = json.loads(sys.argv[1])
    # 16 Mpx: a 4,500 x 4,500 image is 1.27x over it, in the band where Pillow itself only warns
    Image.MAX_IMAGE_PIXELS = None if sys.argv[2] == "off" else 16_000_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_images(paths[:-1], 8, cache_dir=False)  # first: Pillow's plugins imported, the decoder warmed up
        with PeakMemory("cpu") as peak:
            images, bad = load_images(paths, 8, cache_dir=False)
    print(json.dumps({"kept": len(images), "bad": list(bad.values()), "grown_mib": peak.peak_bytes / 2**20}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="peak resident memory read from /proc (Linux)")
def test_peak_memory_of_a_load_with_a_decompression_bomb_stays_bounded(tmp_path):
    """A 4,500 x 4,500 grey PNG (20 Mpx, 20 kB on disk) among real images, with the limit on and (control) off."""
    paths = [str(jpeg(tmp_path / f"good{i}.jpg", seed=i)) for i in range(3)]
    paths.append(str(png(tmp_path / "bomb.png", 4_500, 4_500)))
    assert Path(paths[-1]).stat().st_size < 100_000

    def load(limit: str) -> dict:
        out = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(paths), limit], capture_output=True,
                             text=True, check=True)
        return json.loads(out.stdout)

    refused, decoded = load("on"), load("off")
    assert refused["kept"] == 3 and refused["bad"] == [I.PIXEL_LIMIT]
    assert decoded["kept"] == 4  # the control: 20 MB decoded, then 61 MB as RGB
    assert decoded["grown_mib"] > refused["grown_mib"] + 50, (refused, decoded)
    assert refused["grown_mib"] < 16, refused
    print(f"peak memory grown: {refused['grown_mib']:.1f} MiB refused, {decoded['grown_mib']:.1f} MiB decoded")


# ----------------------------------------------------------------------------------------------- files

def wrong_kinds(tmp_path: Path, name: str) -> dict[str, Path]:
    """Files named `name` that a user may pass by mistake, each of another kind than the JSON asked for."""
    made = {kind: tmp_path / kind / name for kind in ("binary", "not json", "a list", "a directory", "too deep")}
    for path in made.values():
        path.parent.mkdir()
    jpeg(made["binary"])
    made["not json"].write_text("normal: sep_conv_3x3 <- c_{k-1}")
    made["a list"].write_text("[1, 2, 3]")
    made["a directory"].mkdir()
    made["too deep"].write_text("[" * 100_000 + "]" * 100_000)
    return made


LOADERS = {  # name -> (file name, load(path), the error it raises)
    "genotype": ("genotype.json", Genotype.load, GenotypeError),
    "search config": ("search.json", SearchConfig.load, ConfigError),
    "train config": ("train.json", TrainConfig.load, ConfigError),
    "run config": ("run.json", load_config, ConfigError),
    "cost table": ("cost_table.json", CostTable.load, ValueError),
    "run metrics": ("metrics.json", lambda path: update_metrics(path.parent, test={}), ValueError),
    "run settings": ("settings.json", lambda path: claim(path.parent, {"a": 1}), ConfigError),
}


@pytest.mark.parametrize("name", LOADERS)
def test_a_file_of_the_wrong_kind_is_a_clear_error_naming_it(name, tmp_path):
    filename, load, error = LOADERS[name]
    for kind, path in wrong_kinds(tmp_path, filename).items():
        with pytest.raises(error, match=f"{kind}/{filename} is not a .*file") as caught:
            load(path)
        assert not isinstance(caught.value, (RecursionError, UnicodeDecodeError)), kind


@pytest.mark.parametrize("name", LOADERS)
def test_a_file_far_too_large_is_refused_before_it_is_read(name, tmp_path):
    filename, load, error = LOADERS[name]
    big = tmp_path / filename
    with open(big, "wb") as f:  # a sparse file: its size, not its bytes, on disk
        f.truncate(readers.MAX_JSON_BYTES + 1)
    with pytest.raises(error, match=f"{filename} is not a .*file: 16,777,217 bytes, over the 16,777,216-byte limit"):
        load(big)


@pytest.mark.parametrize("name", ["genotype", "search config", "run config", "cost table"])
def test_a_missing_file_is_named(name, tmp_path):
    filename, load, _ = LOADERS[name]
    with pytest.raises(FileNotFoundError, match=f"{filename} does not exist"):
        load(tmp_path / filename)


def test_a_device_that_never_ends_is_not_read(tmp_path):
    with pytest.raises(GenotypeError, match="not a regular file"):
        Genotype.load("/dev/zero")


def test_read_bytes_stops_at_the_limit_even_if_the_file_grows_after_the_check(tmp_path, monkeypatch):
    path = tmp_path / "g.json"
    path.write_text("{}")
    monkeypatch.setattr(readers.bounded, "check_file", lambda p, *a, **k: Path(p))  # as if it was small when checked
    path.write_bytes(b" " * 2000)
    with pytest.raises(ValueError, match="over the 1,000-byte limit"):
        readers.read_bytes(path, "genotype", max_bytes=1000)


def test_a_cost_table_without_its_fields_names_the_file(tmp_path):
    path = tmp_path / "table.json"
    path.write_text(json.dumps({"device": "cpu"}))
    with pytest.raises(ValueError, match="table.json is not a cost table file .*KeyError"):
        CostTable.load(path)


def test_records_and_torch_files_of_the_wrong_kind_are_clear_errors(tmp_path):
    lines = tmp_path / "history.jsonl"
    lines.write_text('{"epoch": 1}\n[2]\n')
    with pytest.raises(ValueError, match="history.jsonl is not a records file"):
        read_jsonl(lines)
    not_torch = jpeg(tmp_path / "search_checkpoint.pt")
    with pytest.raises(RuntimeError, match="checkpoint.pt is not a checkpoint file: it was not written by torch"):
        load_checkpoint(not_torch)
    torn = tmp_path / "torn.pt"
    torch.save({"w": torch.ones(100)}, torn)
    torn.write_bytes(torn.read_bytes()[:300])
    with pytest.raises(RuntimeError, match="torn.pt is not a readable checkpoint file"):
        load_checkpoint(torn)


def test_a_checkpoint_that_would_run_code_when_unpickled_is_refused(tmp_path):
    """torch.load(weights_only=True): a pickle that calls a function on load is refused, never run."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "search_checkpoint.pt"
    torch.save({"state": Payload()}, path)
    with pytest.raises(RuntimeError, match="search_checkpoint.pt is not a readable checkpoint file"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_hand_metadata_file_far_too_large_or_of_the_wrong_kind_names_it(tmp_path):
    from darts_lite.data.hands11k.metadata import MAX_CSV_BYTES, read_metadata

    big = tmp_path / "big" / "HandInfo.csv"
    big.parent.mkdir()
    with open(big, "wb") as f:
        f.truncate(MAX_CSV_BYTES + 1)
    with pytest.raises(ValueError, match="HandInfo.csv is not a HandInfo.csv file: 67,108,865 bytes"):
        read_metadata(big)
    image = jpeg(tmp_path / "HandInfo.csv")  # an image saved under the name
    with pytest.raises(ValueError, match=r"HandInfo.csv, line \d+: byte 0x[0-9a-f]{2} is in no encoding we know"):
        read_metadata(image)
