"""11K Hands (Afifi, 2019): the metadata, the images, the split protocols and the download.

`load_hands11k` is registered as the dataset "hands11k"; the pieces it is made of are public for
notebook 01, which takes the data apart: `read_metadata` / `scan` / `filter_records` (the CSV and
which of its images are on disk), `load_images` (decoded, resized, cached), `subject_split` and
`official_protocol` (subject-disjoint splits), `download_hands11k`.
"""
from .dataset import filter_records, find_root, hands11k_selection, load_hands11k, scan
from .download import download_hands11k
from .images import load_images, train_transforms
from .metadata import HandRecord, MetadataWarning, read_metadata
from .protocols import check_subject_disjoint, official_protocol, subject_split

__all__ = [
    "HandRecord", "MetadataWarning", "check_subject_disjoint", "download_hands11k", "filter_records", "find_root",
    "hands11k_selection", "load_hands11k", "load_images", "official_protocol", "read_metadata", "scan", "subject_split",
    "train_transforms",
]
