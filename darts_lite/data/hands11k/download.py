"""Download the 11K Hands data set from Google Drive, verified and extracted once.

11K Hands: Mahmoud Afifi, "11K Hands: Gender recognition and biometric
identification using a large dataset of hand images", Multimedia Tools and
Applications, 2019, doi:10.1007/s11042-019-7424-8. 11,076 hand images of 190
people; HandInfo.csv gives each image's gender, age, skin colour and more.

`download_hands11k(root)` leaves `root/HandInfo.csv` (checked by SHA-256) and
`root/Hands/*.jpg` (about 600 MB). Every file is written under a temporary
name and renamed into place, so an interrupted run never leaves a half file
that looks complete, and a second call finds the work done and downloads
nothing. Google Drive URLs are fetched with gdown, which also handles plain
http(s) URLs such as a mirror or a local test server.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

HANDS_ZIP_ID = "1KcMYcNJgtK1zZvfl_9sTqnyBUTri2aP2"  # Hands.zip, about 600 MB, top-level folder Hands/
HANDINFO_ID = "1RC86-rVOR8c93XAfM9b9R45L7C2B0FdA"  # HandInfo.csv, 776,742 bytes
HANDINFO_SHA256 = "5f14f117603428c468896c41f85f8fa3dbe6ccfd61021ad3711ce78b71eb9848"


def drive_url(file_id: str) -> str:
    """The direct-download URL of a public Google Drive file."""
    return f"https://drive.google.com/uc?id={file_id}"


def sha256(path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks so large files need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_hint(root: Path) -> str:
    """How to get the data without this function's download."""
    return (f"Downloading 11K Hands needs internet access. Alternatively download HandInfo.csv "
            f"({drive_url(HANDINFO_ID)}) and Hands.zip ({drive_url(HANDS_ZIP_ID)}) by hand and place them "
            f"as {root / 'HandInfo.csv'} and {root / 'Hands'}/*.jpg, or set the environment variable "
            "HANDS11K_ROOT to a folder that already holds HandInfo.csv and Hands/.")


def _fetch(url: str, dest: Path, quiet: bool) -> None:
    """Download url to dest via a temporary folder beside it, renaming only a finished file."""
    try:
        import gdown  # lazy: only downloading needs it
    except ImportError as err:
        raise ImportError("downloading 11K Hands needs gdown; install it with: pip install 'gdown>=5.1'") from err
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", suffix=".download", dir=dest.parent))
    tmp = tmp_dir / dest.name
    try:
        try:
            result = gdown.download(url, str(tmp), quiet=quiet)
        except Exception as err:  # requests' ConnectionError/HTTPError, gdown's FileURLRetrievalError, ...
            raise RuntimeError(f"could not download {dest.name} from {url} ({type(err).__name__}: {err}). "
                               f"{_manual_hint(dest.parent)}") from err
        if result is None or not tmp.is_file():  # older gdown versions return None instead of raising
            raise RuntimeError(f"could not download {dest.name} from {url} (gdown returned no file). "
                               f"{_manual_hint(dest.parent)}")
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _verify_csv(path: Path, expected: str | None) -> None:
    """Delete path and raise if its SHA-256 differs from expected (None skips the check)."""
    if expected is None:
        return
    actual = sha256(path)
    if actual != expected.lower():
        path.unlink()
        raise RuntimeError(f"{path.name} has SHA-256 {actual}, expected {expected}; the bad file was deleted. "
                           "Run again to re-download it, or pass csv_sha256=None if you use a changed copy.")


def _csv_done(path: Path, expected: str | None) -> bool:
    """Whether the CSV is present (and has the expected hash, if one is given)."""
    return path.is_file() and (expected is None or sha256(path) == expected.lower())


def _is_hand_jpg(name: str) -> bool:
    """Whether a zip member is an image inside the top-level Hands/ folder."""
    return name.startswith("Hands/") and name.lower().endswith(".jpg")


def _expected_images(zip_path: Path, csv_path: Path) -> int:
    """How many jpgs Hands/ must hold: those the zip lists, or (zip gone) the rows of HandInfo.csv."""
    if zip_path.is_file():
        try:
            with zipfile.ZipFile(zip_path) as zf:
                return sum(_is_hand_jpg(n) for n in zf.namelist())
        except zipfile.BadZipFile:
            return 1  # the extraction step re-reads the zip and reports the damage
    if csv_path.is_file():
        with open(csv_path, encoding="utf-8", errors="replace") as f:
            return max(1, sum(1 for line in f if line.strip()) - 1)  # minus the header
    return 1


def _hands_done(root: Path, expected: int) -> bool:
    """Whether root/Hands holds at least `expected` jpgs."""
    hands = root / "Hands"
    return hands.is_dir() and sum(1 for p in hands.iterdir() if p.suffix.lower() == ".jpg") >= expected


def _check_member(name: str, zip_path: Path) -> None:
    """Raise for a zip member that would land outside the extraction folder."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":") or ".." in PurePosixPath(posix).parts:
        raise ValueError(f"refusing to extract {zip_path}: member {name!r} has an absolute path or '..'. "
                         "The archive is not the 11K Hands Hands.zip; it was deleted, check zip_url and run again.")


def _extract_hands(zip_path: Path, root: Path, quiet: bool) -> None:
    """Safely extract Hands/ from the zip into root, replacing any incomplete Hands/ folder."""
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile as err:
        zip_path.unlink()
        raise RuntimeError(f"{zip_path} is not a valid zip file and was deleted; run again to re-download it.") from err
    with zf:
        members = zf.infolist()
        try:
            for member in members:
                _check_member(member.filename, zip_path)
            if not any(_is_hand_jpg(m.filename) for m in members):
                raise ValueError(f"{zip_path} has no Hands/*.jpg members; expected the 11K Hands Hands.zip, "
                                 "whose top-level folder is Hands/. It was deleted; check zip_url and run again.")
        except ValueError:
            zip_path.unlink()
            raise
        tmp_dir = Path(tempfile.mkdtemp(prefix=".Hands-", suffix=".extract", dir=root))
        try:
            for member in tqdm(members, desc="Extracting Hands.zip", unit="file", disable=quiet):
                zf.extract(member, tmp_dir)
            target = root / "Hands"
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp_dir / "Hands", target)
        finally:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def download_hands11k(root="data/11k-hands", zip_url: str | None = None, csv_url: str | None = None,
                      csv_sha256: str | None = HANDINFO_SHA256, force: bool = False, quiet: bool = False) -> Path:
    """Download, verify and extract 11K Hands into root (HandInfo.csv, Hands/*.jpg); skip finished steps."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    csv_path, zip_path = root / "HandInfo.csv", root / "Hands.zip"

    if force or not _csv_done(csv_path, csv_sha256):
        _fetch(csv_url or drive_url(HANDINFO_ID), csv_path, quiet)
        _verify_csv(csv_path, csv_sha256)

    if force or not _hands_done(root, _expected_images(zip_path, csv_path)):
        if force or not zip_path.is_file():  # a zip on disk was renamed into place whole: reuse it
            _fetch(zip_url or drive_url(HANDS_ZIP_ID), zip_path, quiet)
        _extract_hands(zip_path, root, quiet)
    zip_path.unlink(missing_ok=True)  # extracted (now or before): the 600 MB archive is no longer needed
    return root
