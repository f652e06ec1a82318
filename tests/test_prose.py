"""The course's prose (README, docs/, notebook markdown): no typed measured number, short sentences.

`tools/prose.py` finds measured-looking numbers typed into prose, `tools/results.py` writes the
measured ones from the committed results into generated blocks. The tests fail on a typed number,
on a stale generated block and on a notebook whose sentences run long, and they show that the
checks catch the stale numbers that were once typed into this course's pages.
"""
import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name):
    spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prose, results = _tool("prose"), _tool("results")
PAGES = prose.pages(ROOT)
NOTEBOOKS = [p for p in PAGES if p.suffix == ".ipynb"]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_measured_number_is_typed_into_prose(page):
    hits = [hit for text in prose.markdown_of(page) for hit in prose.typed_numbers(text)]
    assert not hits, (f"{page.name}: measured numbers typed into prose (print them from code, or put them in a "
                      f"generated block that tools/results.py fills): {hits[:5]}")


@pytest.mark.parametrize("page", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_sentences_are_short(page):
    mean, _, n = prose.words_per_sentence(prose.markdown_of(page))
    assert mean <= prose.MAX_WORDS, f"{page.name}: {mean:.1f} words per sentence over {n} (bound {prose.MAX_WORDS})"


def test_generated_blocks_match_the_committed_results():
    stale = results.update(ROOT, write=False)
    assert not stale, f"generated blocks disagree with the committed results, run `make results`: {stale}"


def test_readme_is_a_landing_page():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines: keep it a landing page, move the rest to docs/"
    assert any("<!-- generated:headline -->" in line for line in lines)


# Stale numbers once typed into the course, each planted back into the page it was in.
ONCE_TYPED = [
    ("03_bilevel_approximation", "It recovers 7 of the 48 planted pairs over 3 seeds, 2-3 per seed, p = 0.15."),
    ("03_bilevel_approximation", "None is shown to recover the planted cell: 0.15 against 0.09."),
    ("03_bilevel_approximation", "The second-order step costs about 2.5x the search time per epoch."),
    ("05_meta_kernels", "Merging speeds a layer up to the FLOP ratio 1.7x."),
    ("07_hand_gender_search", "The images come from 190 people."),
    ("README", "Loading from the cache takes 0.53 s, then 0.030 s."),
    ("README", "The all-3x3 anchor scores 0.955."),
    ("README", "The live beta-DARTS pick scores 0.984, top 19%."),
]


@pytest.mark.parametrize("page, sentence", ONCE_TYPED, ids=[f"{p}-{i}" for i, (p, _) in enumerate(ONCE_TYPED)])
def test_a_stale_number_planted_back_is_caught(page, sentence):
    path = ROOT / "README.md" if page == "README" else ROOT / "notebooks" / f"{page}.ipynb"
    texts = prose.markdown_of(path)
    texts[-1] = texts[-1] + "\n\n" + sentence + "\n"
    assert [hit for text in texts for hit in prose.typed_numbers(text)], sentence


def test_a_stale_generated_block_is_caught(tmp_path):
    for name in ("notebooks", "docs"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy2(ROOT / "README.md", tmp_path / "README.md")
    readme = tmp_path / "README.md"
    text = readme.read_text()
    start = text.index("<!-- generated:headline -->\n") + len("<!-- generated:headline -->\n")
    readme.write_text(text[:start] + "- DARTS wins by 0.15.\n" + text[start:text.index("<!-- /generated -->")]
                      + text[text.index("<!-- /generated -->"):])
    assert ("README.md", "headline") in results.update(tmp_path, write=False)


@pytest.mark.parametrize("sentence", [
    "ResNet-18 and NAS-Bench-201 on CIFAR-10, with 3x3 and 5x5 convolutions (Sec. 2.4, Eq. 7).",
    "DARTS reports 2.76% test error on CIFAR-10 (Liu et al., 2019).",
    "Each of the 14 edges holds 8 operations, over 3 seeds, since 2019.",
    "Set `EPOCHS = 50` and `tau = 0.40` in the parameters cell.",
])
def test_names_settings_and_cited_constants_are_not_measurements(sentence):
    assert prose.typed_numbers(sentence) == []


@pytest.mark.parametrize("sentence", ["It took 2.9x longer.", "Accuracy rose to 0.912.", "It was top 19%.",
                                      "The 1,108 images.", "It was 0.98 ± 0.01.", "It took 164 s."])
def test_measurements_are_found(sentence):
    assert prose.typed_numbers(sentence)


def test_sentences_are_counted_as_a_reader_reads_them():
    text = "# A heading\n\nOne two three. Four five, e.g. six.\n\n- an item\n- another item\n\n| a | b |\n|---|---|\n"
    assert prose.prose(text) == ["One two three.", "Four five, e.g. six.", "an item", "another item"]
    assert prose.words_per_sentence([text])[1:] == (11, 4)
