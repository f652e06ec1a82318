"""Shared fixtures: the naive reference implementation where present, the 11K Hands mini set, small digits,
one-thread torch; the log's header names the host's CPU and instruction sets."""
import contextlib
import importlib.util
from pathlib import Path

import pytest
import torch

# ../shared/reference/ beside the repository (not part of it: never copied in).
REF_PATH = Path(__file__).resolve().parents[2] / "shared" / "reference" / "darts_ref.py"


def pytest_report_header(config):
    """The CPU, its vector extensions and the kernels torch picked: a failure that depends on the host says where it ran."""
    from darts_lite.core.host import describe_host
    return f"host: {describe_host()}"


@pytest.fixture(scope="session")
def ref():
    """The naive DARTS reference module written from the paper, or skip where it is absent."""
    if not REF_PATH.is_file():
        pytest.skip(f"reference implementation not found at {REF_PATH}")
    spec = importlib.util.spec_from_file_location("darts_ref", REF_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The real 11K Hands mini set beside the repository (never copied in); tests and notebooks find
# it through HANDS11K_ROOT, the same setting a user sets for the full dataset.
HANDS_MINI = Path(__file__).resolve().parents[2] / "shared" / "data" / "11k-hands-mini"


@pytest.fixture(scope="session", autouse=True)
def hands11k_root():
    """Point HANDS11K_ROOT at the shared mini set when the user has not set it and it exists."""
    import os
    if "HANDS11K_ROOT" not in os.environ and HANDS_MINI.is_dir():
        os.environ["HANDS11K_ROOT"] = str(HANDS_MINI)
    return os.environ.get("HANDS11K_ROOT")


@pytest.fixture(scope="module")
def small_digits():
    """Digits at 8x8, cut to 128 images per split: 4 steps of 32 per epoch (the search tests' data)."""
    from darts_lite.data import DataSplits, Split, load_dataset
    data = load_dataset("digits", image_size=8, seed=0)

    def cut(split: Split) -> Split:
        return Split(split.X[:128], split.y[:128])

    return DataSplits(**{**data.__dict__, "search_train": cut(data.search_train),
                         "search_val": cut(data.search_val), "test": cut(data.test)})


@pytest.fixture
def one_thread():
    """A context manager: torch on one thread inside it, as each worker process of `core.workers` runs."""
    @contextlib.contextmanager
    def on_one_thread():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
    return on_one_thread
