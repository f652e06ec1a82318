"""Tests for the 11K Hands data layer: metadata quirks, filters, subject-disjoint splits, images, cache.

Two kinds of data: the real mini set beside the repository (skipped where
absent) and tiny files written into tmp_path in the published CSV format.
"""
import csv
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from darts_lite.data import load_dataset
from darts_lite.data.hands11k.dataset import (
    HandRecord,
    filter_records,
    find_root,
    hands11k_selection,
    labels,
    load_hands11k,
    read_metadata,
    scan,
    target_classes,
)
from darts_lite.data.hands11k.images import NOT_AN_IMAGE, default_cache_dir, load_images, train_transforms
from darts_lite.data.hands11k.protocols import check_subject_disjoint, official_protocol, subject_split

MINI = Path(__file__).resolve().parents[2] / "shared" / "data" / "11k-hands-mini"
needs_mini = pytest.mark.skipif(not (MINI / "HandInfo.csv").is_file(),
                                reason=f"the 11K Hands mini set is not at {MINI}")
HEADER = "id,age,gender,skinColor,accessories,nailPolish,aspectOfHand,imageName,irregularities"
SKINS = ["fair", "medium", "dark", "very fair"]


def write_jpeg(path: Path, seed: int, mode: str = "RGB") -> None:
    from PIL import Image
    pixels = np.random.default_rng(seed).integers(0, 256, size=(18, 24, 3), dtype=np.uint8)
    Image.fromarray(pixels).convert(mode).save(path, "JPEG" if mode in ("RGB", "L") else "PNG")


def make_root(root: Path, subjects: int = 8, absent: int = 1) -> Path:
    """A tiny 11K Hands folder: `subjects` people x 4 images, CRLF, quoted, one id with a trailing space."""
    (root / "Hands").mkdir(parents=True)
    lines, n = [HEADER], 0
    for s in range(subjects):
        gender = "female" if s % 2 == 0 else "male"
        for k, hand in enumerate(["dorsal right", "dorsal left", "palmar right", "palmar left"]):
            n += 1
            sid = f"{s:07d}" + (" " if (s, k) == (subjects - 1, 3) else "")  # as "1200000 " in the real file
            name = f"Hand_{n:07d}.jpg"
            lines.append(f'"{sid}",{18 + 3 * s},"{gender}","{SKINS[s % 4]}",{k % 2},0,"{hand}","{name}",0')
            if n > absent:  # the first `absent` images were "not downloaded"
                write_jpeg(root / "Hands" / name, seed=n)
    (root / "HandInfo.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    return root


@pytest.fixture
def tiny(tmp_path) -> Path:
    return make_root(tmp_path / "hands")


# ---------------------------------------------------------------- the real mini set

@pytest.fixture(scope="module")
def mini_records():
    if not (MINI / "HandInfo.csv").is_file():
        pytest.skip(f"the 11K Hands mini set is not at {MINI}")
    return read_metadata(MINI / "HandInfo.csv")


@pytest.fixture(scope="module")
def mini_present(mini_records):
    return scan(MINI, mini_records, verbose=False)[0]


@pytest.fixture(scope="module")
def mini_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hands_cache")


@needs_mini
def test_real_metadata_quirks(mini_records):
    assert len(mini_records) == 11076
    assert len({r.id for r in mini_records}) == 189
    with open(MINI / "HandInfo.csv", newline="") as f:
        assert len({row["id"] for row in csv.DictReader(f)}) == 190  # unstripped: one person counted twice
    assert mini_records[0].id == "0000000" and isinstance(mini_records[0].age, int)
    assert {r.aspect for r in mini_records} == {"dorsal", "palmar"}
    assert {r.side for r in mini_records} == {"left", "right"}
    assert next(r for r in mini_records if r.image_name == "Hand_0009853.jpg").id == "1200000"
    assert Counter(r.gender for r in mini_records) == {"female": 7109, "male": 3967}


@needs_mini
def test_real_scan_reports_found_images(mini_records, capsys):
    present, missing = scan(MINI, mini_records)
    assert (len(present), missing) == (1108, 11076 - 1108)
    assert "found 1108 of 11076 images listed in HandInfo.csv" in capsys.readouterr().out
    assert Counter(r.gender for r in present) == {"female": 718, "male": 390}
    assert Counter(r.aspect for r in present) == {"dorsal": 565, "palmar": 543}
    assert len({r.subject for r in present}) == 184


@needs_mini
def test_real_subject_split_is_disjoint_and_stratified(mini_present):
    parts = subject_split(mini_present, (0.6, 0.2, 0.2), seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(mini_present)))
    check_subject_disjoint(dict(zip("abc", parts)), mini_present)
    for part, fraction in zip(parts, (0.6, 0.2, 0.2)):
        assert abs(len(part) / len(mini_present) - fraction) < 0.03
        female = np.mean([mini_present[i].gender == "female" for i in part])
        assert abs(female - 718 / 1108) < 0.06
    assert not all(np.array_equal(a, b) for a, b in zip(parts, subject_split(mini_present, seed=1)))


@needs_mini
@pytest.mark.parametrize("aspect", ["dorsal", "palmar"])
def test_real_official_protocol_scaled_down_and_balanced(mini_present, aspect):
    with pytest.warns(UserWarning, match="scaled down"):
        split = official_protocol(mini_present, aspect, split_index=0, seed=0)
    train_n, test_n = split["train_per_gender"], split["test_per_gender"]
    assert 0 < test_n < 500 and train_n == 2 * test_n
    for name, n in (("train", train_n), ("test", test_n)):
        chosen = [mini_present[i] for i in split[name]]
        assert Counter(r.gender for r in chosen) == {"female": n, "male": n}
        assert {r.aspect for r in chosen} == {aspect}
    check_subject_disjoint({"train": split["train"], "test": split["test"]}, mini_present)
    with pytest.warns(UserWarning):
        again = official_protocol(mini_present, aspect, split_index=0, seed=0)
        other = official_protocol(mini_present, aspect, split_index=1, seed=0)
    assert np.array_equal(again["test"], split["test"]) and not np.array_equal(other["test"], split["test"])


@needs_mini
def test_real_loader_shapes_normalisation_and_cache(mini_cache):
    data = load_dataset("hands11k", image_size=32, root=MINI, cache_dir=mini_cache, verbose=False)
    assert (data.classes, data.num_classes, data.in_channels, data.image_size) == (["female", "male"], 2, 3, 32)
    assert sum(len(s) for s in data.splits().values()) == 1108
    for split in data.splits().values():
        assert split.X.shape[1:] == (3, 32, 32) and split.X.dtype == torch.float32
    assert data.search_train.X.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    caches = list(mini_cache.glob("hands11k_32x32_rgb_*.pt"))
    assert len(caches) == 1
    again = load_dataset("hands11k", image_size=32, root=MINI, cache_dir=mini_cache, verbose=False)
    assert torch.equal(again.test.X, data.test.X) and torch.equal(again.search_train.y, data.search_train.y)
    assert list(mini_cache.glob("*.pt")) == caches  # read, not rebuilt


@needs_mini
def test_real_loader_four_three_grayscale_and_official(mini_cache):
    data = load_hands11k(image_size=24, root=MINI, aspect_ratio="4:3", grayscale=True, cache_dir=mini_cache,
                         verbose=False)
    assert data.in_channels == 1 and data.test.X.shape[1:] == (1, 24, 32) and len(data.mean) == 1
    with pytest.warns(UserWarning, match="scaled down"):
        official = load_hands11k(image_size=16, root=MINI, protocol="official", aspect="palmar",
                                 cache_dir=mini_cache, verbose=False)
    assert torch.bincount(official.test.y).tolist() == [66, 66]
    assert len(official.search_train) + len(official.search_val) == 2 * 132
    with pytest.warns(UserWarning, match="scaled down"):
        records, left_out = hands11k_selection(MINI, protocol="official", aspect="palmar", verbose=False)
    check_subject_disjoint(records)
    assert [len(v) for v in records.values()] == [len(s) for s in official.splits().values()]
    assert left_out == {k: v for k, v in official.left_out.items() if not k.startswith("unreadable image files")}


# ---------------------------------------------------------------- tiny files in tmp_path

def test_tiny_csv_is_read_as_published(tiny, capsys):
    records = read_metadata(tiny / "HandInfo.csv")
    assert len(records) == 32 and records[0].id == "0000000" and records[0].age == 18
    assert len({r.id for r in records}) == 8  # the trailing-space id is the same person
    assert (records[0].aspect, records[0].side) == ("dorsal", "right")
    present, missing = scan(tiny, records)
    assert (len(present), missing) == (31, 1)
    assert "found 31 of 32 images" in capsys.readouterr().out


def test_missing_empty_and_wrong_csv(tmp_path):
    with pytest.raises(FileNotFoundError, match="HANDS11K_ROOT") as err:
        read_metadata(tmp_path / "nowhere" / "HandInfo.csv")
    assert "nowhere" in str(err.value) and "download_hands11k" in str(err.value)
    (tmp_path / "HandInfo.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        read_metadata(tmp_path / "HandInfo.csv")
    (tmp_path / "HandInfo.csv").write_text(HEADER.replace("gender,skinColor,", "") + "\r\n")
    with pytest.raises(ValueError, match="gender, skinColor"):
        read_metadata(tmp_path)


def test_find_root_honours_env_and_explains_failure(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("HANDS11K_ROOT", str(tiny))
    assert find_root() == tiny
    assert find_root(tiny) == tiny
    data = load_dataset("hands11k", image_size=16, cache_dir=tmp_path / "cache", verbose=False)
    assert data.search_train.X.shape[1:] == (3, 16, 16)
    monkeypatch.setenv("HANDS11K_ROOT", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="empty"):
        find_root()


def test_none_found_is_an_error(tmp_path):
    root = make_root(tmp_path / "hands", subjects=3, absent=12)
    with pytest.raises(FileNotFoundError, match="none of the 12 images"):
        scan(root, read_metadata(root))


def test_filters_and_targets(tiny):
    records = read_metadata(tiny)
    assert len(filter_records(records, aspect="palmar", side="left")) == 8
    assert all(r.accessories == 0 for r in filter_records(records, no_accessories=True))
    with pytest.raises(ValueError, match="'dorsal', 'palmar'"):
        filter_records(records, aspect="back")
    with pytest.raises(ValueError, match="'left', 'right'"):
        filter_records(records, side="up")
    assert target_classes(records, "skin_color") == ["dark", "fair", "medium", "very fair"]
    ages = labels(records, "age", target_classes(records, "age"))  # ages 18, 21, 24, ..., 39
    assert ages.tolist() == [0] * 4 + [1] * 12 + [2] * 16
    with pytest.raises(ValueError, match="'gender', 'age', 'skin_color', 'aspect'"):
        target_classes(records, "handedness")
    with pytest.raises(ValueError, match="handedness"):
        load_hands11k(16, root=tiny, target="handedness", verbose=False)


def test_check_subject_disjoint_names_the_leak():
    a = HandRecord("0000001", 20, "male", "fair", 0, 0, "dorsal", "left", "Hand_1.jpg", 0)
    b = HandRecord("0000002", 20, "male", "fair", 0, 0, "dorsal", "left", "Hand_2.jpg", 0)
    check_subject_disjoint({"train": [a], "test": [b]})
    with pytest.raises(ValueError, match="0000001"):
        check_subject_disjoint({"train": [a, b], "test": [a]})
    with pytest.raises(ValueError, match="0000002"):
        check_subject_disjoint({"train": [0, 1], "test": [1]}, records=[a, b])


def test_tiny_official_protocol_through_the_loader(tiny, tmp_path):
    with pytest.warns(UserWarning, match="scaled down"):
        data = load_hands11k(16, root=tiny, protocol="official", aspect="dorsal", cache_dir=tmp_path,
                             verbose=False)
    assert torch.bincount(data.test.y, minlength=2).tolist() == [2, 2]
    with pytest.raises(ValueError, match="aspect='dorsal' or 'palmar'"):
        load_hands11k(16, root=tiny, protocol="official", cache_dir=tmp_path, verbose=False)


def test_truncated_jpeg_is_skipped_listed_counted_or_raised(tmp_path):
    paths = [tmp_path / f"Hand_{i}.jpg" for i in range(3)]
    for i, p in enumerate(paths):
        write_jpeg(p, seed=i)
    paths[1].write_bytes(paths[1].read_bytes()[:200])  # cut mid-scan, as an interrupted download
    with pytest.warns(UserWarning, match="left out 1 unreadable images: 1 truncated") as record:
        images, bad = load_images(paths, 16, cache_dir=False)
    assert bad == {str(paths[1]): "truncated or corrupt image data"} and images.shape == (2, 3, 16, 16)
    assert any("Hand_1.jpg" in str(w.message) for w in record)
    with pytest.raises(OSError, match="Hand_1.jpg"):
        load_images(paths, 16, cache_dir=False, strict=True)


def test_non_rgb_images_are_converted_and_counted(tmp_path):
    paths = [tmp_path / "rgb.jpg", tmp_path / "grey.jpg", tmp_path / "palette.png"]
    for p, mode in zip(paths, ["RGB", "L", "P"]):
        write_jpeg(p, seed=0, mode=mode)
    with pytest.warns(UserWarning, match="converted 2 non-RGB images"):
        images, bad = load_images(paths, (12, 16), cache_dir=False)
    assert images.shape == (3, 3, 12, 16) and images.dtype == torch.uint8 and bad == {}
    assert torch.equal(images[1, 0], images[1, 2])  # a grey image stays grey


def test_cache_is_written_reused_and_order_independent(tiny, tmp_path):
    paths = sorted((tiny / "Hands").glob("*.jpg"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # clean images: no warning at all
        first, _ = load_images(paths, 16, cache_dir=tmp_path / "c")
        reversed_, _ = load_images(paths[::-1], 16, cache_dir=tmp_path / "c")
    assert len(list((tmp_path / "c").glob("*.pt"))) == 1
    assert torch.equal(reversed_, first.flip(0))
    gray, _ = load_images(paths, 16, grayscale=True, cache_dir=tmp_path / "c")
    assert gray.shape[1] == 1 and len(list((tmp_path / "c").glob("*.pt"))) == 2


def test_train_transforms_augment_within_range_one_draw_per_batch():
    """What the docstring promises: [0, 1] in and out, one random draw per batch, a new draw per call."""
    torch.manual_seed(0)
    image = torch.rand(1, 3, 24, 32)
    X = image.repeat(4, 1, 1, 1)
    augment = train_transforms((24, 32))
    out = augment(X)
    assert out.shape == X.shape and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, X, atol=1e-3)              # it changed the images
    assert all(torch.equal(out[0], o) for o in out[1:])        # the same draw for every image of the batch
    assert not torch.allclose(augment(X)[0], out[0], atol=1e-3)  # and a new draw on the next call
    # the affine fills with white: a black image shifted or scaled gains white-ish pixels
    black = augment(torch.zeros(1, 3, 24, 32))
    assert black.max() > 0.5


def test_find_root_default_looks_in_data_11k_hands(tmp_path, monkeypatch):
    monkeypatch.delenv("HANDS11K_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    repo_data = Path(__file__).resolve().parents[1] / "data" / "11k-hands"
    if (repo_data / "HandInfo.csv").is_file():
        assert find_root() == repo_data
        return
    with pytest.raises(FileNotFoundError) as err:
        find_root()
    assert str(tmp_path / "data" / "11k-hands" / "HandInfo.csv") in str(err.value)
    assert str(repo_data / "HandInfo.csv") in str(err.value) and "HANDS11K_ROOT" in str(err.value)
    make_root(tmp_path / "data" / "11k-hands", subjects=3)
    assert find_root() == tmp_path / "data" / "11k-hands"


def test_default_cache_dir_falls_back_when_root_is_read_only(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    load_images(sorted((tiny / "Hands").glob("*.jpg"))[:2], 8)  # cache_dir=None: beside the data
    assert len(list((tiny / ".cache").glob("*.pt"))) == 1
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o555)  # as the shared mini set: read-only, even for root
    try:
        assert default_cache_dir(shared) == tmp_path / "xdg" / "darts_lite"
    finally:
        shared.chmod(0o755)


def test_loader_drops_unreadable_images(tiny, tmp_path):
    victim = tiny / "Hands" / "Hand_0000005.jpg"
    victim.write_bytes(victim.read_bytes()[:150])
    with pytest.warns(UserWarning, match="left out 1 unreadable"):
        data = load_hands11k(16, root=tiny, cache_dir=tmp_path, verbose=False)
    assert sum(len(s) for s in data.splits().values()) == 30  # 32 rows, 1 not downloaded, 1 corrupt
    with pytest.raises(OSError, match="Hand_0000005.jpg"):
        load_hands11k(16, root=tiny, cache_dir=tmp_path, strict=True, verbose=False)


def test_every_image_left_out_is_counted_and_named_in_one_report(tiny, tmp_path, capsys):
    """Listed = kept + left out, each left-out image named under its reason: not on disk, the filters,
    the protocol, unreadable."""
    (tiny / "Hands" / "Hand_0000030.jpg").write_bytes(b"not a jpeg")  # one unreadable file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_hands11k(image_size=8, root=tiny, aspect="dorsal", cache_dir=tmp_path / "c", verbose=True)
    printed = capsys.readouterr().out
    left = data.left_out
    kept = sum(len(part) for part in data.records.values())
    assert kept + sum(len(v) for v in left.values()) == 32  # 8 people x 4 images listed
    assert left["not on disk (not downloaded)"] == ["Hand_0000001.jpg"]
    by_filter = left["left out by the filters (aspect=dorsal)"]
    assert len(by_filter) == 16 and all(name not in by_filter for part in data.records.values()
                                        for name in (r.image_name for r in part))
    assert left[f"unreadable image files: {NOT_AN_IMAGE}"] == ["Hand_0000030.jpg"]
    assert "left out: 18 image(s)" in printed and "Hand_0000001.jpg" in printed
    assert "left out: 18 image(s)" in data.summary()
