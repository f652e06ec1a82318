"""Check the course's prose: no typed measured number, and short sentences.

    python tools/prose.py            # every page: words per sentence, and any typed measured number
    python tools/prose.py FILE ...   # the same for some README/docs page or notebook

The pages are README.md, docs/*.md and the notebooks' markdown cells. Prose is what is left of
the Markdown once code (fences and `spans`), math ($...$), HTML comments, link targets, tables and
the blocks that `tools/results.py` generates (`<!-- generated:KEY -->`) are taken out.

A measured number typed into prose goes stale when the code runs again. `typed_numbers` finds
any decimal (0.15), percentage (19%), ratio (2.5x), value after ±, and integer above 20 that is
not a year, unless its sentence cites a paper ("et al." or a link): constants from papers stay
typed with their citation. Names with numbers (ResNet-18, NAS-Bench-201, 3x3, Sec. 2.4) are not
measurements. `words_per_sentence` is the mean sentence length of the prose (headings excluded),
generated blocks included, since a reader reads them too; `MAX_WORDS` is the course's bound.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_WORDS = 22

GENERATED = re.compile(r"<!-- generated:[\w/.-]+ -->.*?<!-- /generated -->", re.S)
_STRIP = [re.compile(r"```.*?```", re.S), re.compile(r"\$\$.*?\$\$", re.S), re.compile(r"<!--.*?-->", re.S),
          re.compile(r"(?<!\\)\$[^$\n]+\$"), re.compile(r"`[^`\n]*`"), re.compile(r"<[^>\n]+>")]
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "Fig.", "Eq.", "Eqs.", "Sec.", "vs.", "cf.", "resp.", "approx.", "No.")
CITATION = re.compile(r"et al\b|\]\(https?://|arXiv|doi|\([A-Z][\w-]+(?: and [A-Z][\w-]+)?,? (?:19|20)\d\d[a-z]?\)")
NUMBER = re.compile(
    r"±\s*\d[\d.,]*"                                   # a spread
    r"|(?<![\w.-])\d+(?:\.\d+)?\s?(?:%|x\b|×)"          # a percentage or a ratio
    r"|(?<![\w.-])\d+\.\d+(?!\w|\.\d)"                 # a decimal
    r"|(?<![\w.,-])\d{1,3}(?:,\d{3})+(?!\w|,\d)"       # 11,076
    r"|(?<![\w.,-])\d+(?!\w|[.,]\d)")                  # an integer
NAMED = re.compile(r"(?:Sec|Section|Eq|Eqs|Fig|Figure|Table|Algorithm|Appendix|version|v)\.?\s*\(?\d+(?:\.\d+)*\)?$")


def markdown_of(path: Path) -> list[str]:
    """The Markdown texts of a page: a .md file's text, or each markdown cell of a notebook."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text())
        return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    return [path.read_text()]


def prose(markdown: str, keep_generated: bool = False) -> list[str]:
    """The sentences of `markdown` (paragraphs and list items; headings and tables left out)."""
    text = markdown if keep_generated else GENERATED.sub("", markdown)
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    units, current = [], []
    for line in text.splitlines():
        stripped = line.strip()
        starts_item = re.match(r"([-*+]|\d+\.)\s", stripped)
        if not stripped or stripped.startswith(("#", "|")) or starts_item:
            if current:
                units.append(" ".join(current))
            current = [] if not starts_item else [stripped[starts_item.end():]]
            continue
        current.append(stripped.lstrip("> "))
    if current:
        units.append(" ".join(current))
    sentences = []
    for unit in units:
        for a in ABBREVIATIONS:
            unit = unit.replace(a, a.replace(".", "\0"))
        for s in re.split(r"(?<=[.!?])\s+", unit):
            s = s.replace("\0", ".").strip()
            if re.search(r"[A-Za-z0-9]", s):
                sentences.append(s)
    return sentences


def words(sentence: str) -> int:
    return sum(bool(re.search(r"[A-Za-z0-9]", w)) for w in sentence.split())


def words_per_sentence(markdowns: list[str]) -> tuple[float, int, int]:
    """(mean words per sentence, words, sentences) of the prose, generated blocks included."""
    sentences = [s for m in markdowns for s in prose(m, keep_generated=True)]
    n = sum(words(s) for s in sentences)
    return (n / len(sentences) if sentences else 0.0), n, len(sentences)


def _is_measured(match: re.Match, sentence: str) -> bool:
    token = match.group(0)
    before = sentence[:match.start()]
    if NAMED.search(before + token.rstrip("%x× ")):
        return False
    if re.match(r"\d+x\d", sentence[match.start():]):  # a kernel size, 3x3
        return False
    if token.startswith("±") or token.rstrip().endswith(("%", "x", "×")) or "." in token:
        return True
    value = int(token.replace(",", ""))
    return value > 20 and not 1900 <= value <= 2099


def typed_numbers(markdown: str) -> list[tuple[str, str]]:
    """(number, sentence) of every measured-looking number in the prose of `markdown` without a citation."""
    found = []
    for sentence in prose(markdown):
        if CITATION.search(sentence):
            continue
        found += [(m.group(0).strip(), sentence) for m in NUMBER.finditer(sentence) if _is_measured(m, sentence)]
    return found


def pages(root: Path = ROOT) -> list[Path]:
    """README.md, docs/*.md and the course notebooks."""
    return ([root / "README.md"] + sorted((root / "docs").glob("*.md"))
            + sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")))


def report(paths: list[Path]) -> int:
    bad = 0
    for path in paths:
        texts = markdown_of(path)
        mean, n_words, n_sentences = words_per_sentence(texts)
        numbers = [hit for t in texts for hit in typed_numbers(t)]
        flag = " (over the bound)" if path.suffix == ".ipynb" and mean > MAX_WORDS else ""
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {mean:.1f} words per sentence "
              f"({n_words} words, {n_sentences} sentences){flag}, {len(numbers)} typed measured number(s)")
        for number, sentence in numbers:
            print(f"    {number!r} in: {sentence[:160]}")
        bad += len(numbers) + bool(flag)
    return bad


if __name__ == "__main__":
    args = [Path(a).resolve() for a in sys.argv[1:]] or pages()
    sys.exit(1 if report(args) else 0)
