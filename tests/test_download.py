"""download_hands11k, offline: a tiny fake 11K Hands served by a loopback HTTP server.

The real data set (Afifi, 2019, doi:10.1007/s11042-019-7424-8) lives on Google
Drive; here a few 8x8 JPEGs stand in for it, served from tmp_path on 127.0.0.1.
"""
import functools
import hashlib
import io
import socket
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

pytest.importorskip("gdown")

from darts_lite.data.hands11k.download import (
    HANDINFO_ID,
    HANDINFO_SHA256,
    HANDS_ZIP_ID,
    download_hands11k,
    drive_url,
    sha256,
)

IMAGES = ["Hand_0000002.jpg", "Hand_0000003.jpg", "Hand_0000004.jpg"]


def _jpeg(colour) -> bytes:
    """A tiny JPEG of one colour."""
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Keep requests from sending loopback traffic through a proxy set in the environment."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def served(tmp_path):
    """Folder with Hands.zip, evil.zip and HandInfo.csv, served on 127.0.0.1; yields (base_url, hits, csv_sha)."""
    folder = tmp_path / "served"
    folder.mkdir()
    with zipfile.ZipFile(folder / "Hands.zip", "w") as zf:
        zf.writestr("Hands/", "")
        for i, name in enumerate(IMAGES):
            zf.writestr(f"Hands/{name}", _jpeg((60 * i, 100, 200)))
    with zipfile.ZipFile(folder / "evil.zip", "w") as zf:
        zf.writestr(f"Hands/{IMAGES[0]}", _jpeg((0, 0, 0)))
        zf.writestr("../evil.jpg", _jpeg((255, 0, 0)))
    csv = "id,age,gender,imageName\n" + "".join(f"{i},25,male,{n}\n" for i, n in enumerate(IMAGES))
    (folder / "HandInfo.csv").write_text(csv)
    csv_sha = hashlib.sha256(csv.encode()).hexdigest()

    hits = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            """Record the path, then serve the file."""
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits, csv_sha
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _get(root, base, csv_sha, zip_name="Hands.zip", **kwargs):
    """Call download_hands11k against the local server."""
    return download_hands11k(root, zip_url=f"{base}/{zip_name}", csv_url=f"{base}/HandInfo.csv",
                             csv_sha256=csv_sha, quiet=True, **kwargs)


def _free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_drive_url_and_constants():
    assert drive_url(HANDS_ZIP_ID) == "https://drive.google.com/uc?id=1KcMYcNJgtK1zZvfl_9sTqnyBUTri2aP2"
    assert drive_url(HANDINFO_ID).endswith("1RC86-rVOR8c93XAfM9b9R45L7C2B0FdA")
    assert len(HANDINFO_SHA256) == 64


def test_sha256_matches_hashlib(tmp_path):
    path = tmp_path / "blob"
    data = bytes(range(256)) * 5000  # > 1 MiB, so several chunks
    path.write_bytes(data)
    assert sha256(path) == hashlib.sha256(data).hexdigest()


def test_download_extracts_removes_zip_and_skips_second_time(tmp_path, served):
    base, hits, csv_sha = served
    root = tmp_path / "hands"
    assert _get(root, base, csv_sha) == root
    assert sorted(hits) == ["/HandInfo.csv", "/Hands.zip"]
    assert sha256(root / "HandInfo.csv") == csv_sha
    assert sorted(p.name for p in (root / "Hands").iterdir()) == IMAGES
    with Image.open(root / "Hands" / IMAGES[1]) as img:
        assert img.size == (8, 8)
    assert sorted(p.name for p in root.iterdir()) == ["HandInfo.csv", "Hands"], "zip or temporary files left"

    _get(root, base, csv_sha)
    assert len(hits) == 2, f"second call downloaded again: {hits}"

    _get(root, base, csv_sha, force=True)
    assert len(hits) == 4
    assert sorted(p.name for p in (root / "Hands").iterdir()) == IMAGES


def test_incomplete_hands_folder_is_redone(tmp_path, served):
    base, hits, csv_sha = served
    root = tmp_path / "hands"
    _get(root, base, csv_sha)
    (root / "Hands" / IMAGES[0]).unlink()  # fewer jpgs than HandInfo.csv lists
    _get(root, base, csv_sha)
    assert hits[2:] == ["/Hands.zip"]
    assert sorted(p.name for p in (root / "Hands").iterdir()) == IMAGES


def test_wrong_checksum_names_both_hashes_and_deletes_csv(tmp_path, served):
    base, _, csv_sha = served
    root = tmp_path / "hands"
    wrong = "0" * 64
    with pytest.raises(RuntimeError, match=rf"{csv_sha}.*{wrong}"):
        _get(root, base, wrong)
    assert list(root.iterdir()) == []


def test_zip_member_with_dotdot_is_rejected(tmp_path, served):
    base, _, csv_sha = served
    root = tmp_path / "a" / "hands"
    with pytest.raises(ValueError, match=r"\.\./evil\.jpg"):
        _get(root, base, csv_sha, zip_name="evil.zip")
    assert not (tmp_path / "a" / "evil.jpg").exists()
    assert not (root / "Hands").exists()
    assert sorted(p.name for p in root.iterdir()) == ["HandInfo.csv"]


def test_unreachable_url_raises_clear_error(tmp_path):
    root = tmp_path / "hands"
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(RuntimeError, match="HandInfo.csv") as info:
        download_hands11k(root, zip_url=f"{url}/Hands.zip", csv_url=f"{url}/HandInfo.csv", quiet=True)
    message = str(info.value)
    assert "internet" in message and "HANDS11K_ROOT" in message and "Hands/*.jpg" in message
    assert list(root.iterdir()) == [], "a failed download left a file behind"
