"""The HTML book (`make site`): it builds offline, every page and image it links exists, a browser shows them.

Its pages: the README, the notebooks in order, then the pages of docs/ that exist (`site_tool.docs`).

The book is built once per module into a temporary folder by the same function
`make site` calls (tools/site.py), and once more with no network (`unshare -n`) where
allowed. Headless Chromium (installed by `make test` as Graphviz is, skipped with the
fix where it is missing) opens the README page and a notebook page and reports each
image's natural width once decoded, and opens notebook 03's page with its network cut
to count the formulas that the MathJax served by the book typeset (none, as a control,
when MathJax comes from its CDN).
"""
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from test_docs import readme_images
from test_notebooks import NOTEBOOKS, load_tool

pytestmark = pytest.mark.slow
site_tool = load_tool("site")
DOC_PAGES = site_tool.docs()  # docs/*.md in the book's order


class _Links(HTMLParser):
    """Every local href/src of a page (external addresses, anchors and data URIs left out), its images."""

    def __init__(self):
        super().__init__()
        self.links, self.images, self.img_tags = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.img_tags += tag == "img"  # every image, embedded (data: URIs) ones too
        for key in ("href", "src"):
            value = attrs.get(key)
            if not value or urlsplit(value).scheme or value.startswith(("#", "//")):
                continue
            self.links.append(value)
            if tag == "img":
                self.images.append(value)


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _can_cut_the_network() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The book, built once for every test here: with the network cut (`make site` offline) where it can be."""
    out = tmp_path_factory.mktemp("book") / "site"
    if not _can_cut_the_network():
        site_tool.build(out)
        return out
    proc = subprocess.run(["unshare", "-n", sys.executable, str(site_tool.ROOT / "tools" / "site.py"), str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, ("the book did not build with the network cut:\n" + proc.stdout[-2000:]
                                  + proc.stderr[-2000:])
    return out


def _page(site: Path, stem: str) -> Path:
    return site / "notebooks" / f"{stem}.html"


def test_every_page_of_the_book_exists_with_a_table_of_contents(site):
    readme = site / "README.html"
    assert readme.is_file() and 'url=README.html"' in (site / "index.html").read_text()  # index opens the README
    toc = {Path(unquote(urlsplit(link).path)).name for link in _parse(readme).links}
    for path in NOTEBOOKS:
        assert _page(site, path.stem).is_file(), f"no page for {path.name}"
        assert f"{path.stem}.html" in toc, f"{path.stem} missing from the table of contents"
    assert DOC_PAGES, "docs/ holds no page"
    for path in DOC_PAGES:
        assert (site / "docs" / f"{path.stem}.html").is_file(), f"no page for docs/{path.name}"
        assert f"{path.stem}.html" in toc, f"docs/{path.stem} missing from the table of contents"


def test_every_local_link_and_image_of_every_page_exists(site):
    pages = [p for p in sorted(site.rglob("*.html")) if "_static" not in p.parts]  # _static: theme templates
    assert len(pages) > len(NOTEBOOKS)
    broken = []
    for page in pages:
        for link in _parse(page).links:
            target = (page.parent / unquote(urlsplit(link).path)).resolve()
            if urlsplit(link).path and not target.exists():
                broken.append((page.relative_to(site).as_posix(), link))
    assert not broken, f"{len(broken)} broken links, first: {broken[:5]}"


def test_every_page_links_previous_and_next_in_reading_order(site):
    order = ["README"] + [f"notebooks/{p.stem}" for p in NOTEBOOKS] + [f"docs/{p.stem}" for p in DOC_PAGES]
    for i, name in enumerate(order[1:], start=1):
        text = (site / f"{name}.html").read_text(encoding="utf-8")
        links = re.findall(r'class="(?:left|right)-(?:prev|next)"[^>]*href="([^"]+)"|'
                           r'href="([^"]+)"[^>]*class="(?:left|right)-(?:prev|next)"', text)
        targets = {Path(a or b).with_suffix("").name for a, b in links}
        assert Path(order[i - 1]).name in targets, f"{name}: no link back to {order[i - 1]}"
        if i + 1 < len(order):
            assert Path(order[i + 1]).name in targets, f"{name}: no link on to {order[i + 1]}"


def test_every_figure_is_in_the_book(site):
    """The README page shows the README's figures, a docs page its own; each notebook page one image per output."""
    assert len(_parse(site / "README.html").images) == len(readme_images())
    for path in DOC_PAGES:
        figures = [f for f in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", path.read_text()) if not urlsplit(f).scheme]
        shown = _parse(site / "docs" / f"{path.stem}.html").images
        assert len(shown) == len(figures), f"docs/{path.name}: {len(figures)} figures, {len(shown)} on its page"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        pngs = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
        assert len(_parse(_page(site, path.stem)).images) >= pngs, f"{path.stem}: figures missing from its page"


# Appended to a copy of a page: once loaded, every image loaded, their sizes go into the DOM (an image that
# fails to decode has a natural width of 0). Not image.decode(): with MathJax typesetting the page, headless
# Chromium's virtual time often runs out before every decode() promise settles.
PROBE = """<script>
window.addEventListener("load", async () => {
  const images = Array.from(document.images);
  images.forEach(image => { image.loading = "eager"; });
  await Promise.all(images.map(image => image.complete ? null : new Promise(done => {
      image.addEventListener("load", done); image.addEventListener("error", done); })));
  document.body.setAttribute("data-probe", JSON.stringify(
      images.map(image => ({src: image.getAttribute("src"), width: image.naturalWidth}))));
});
</script>"""


def _chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not browser:
        pytest.skip("headless Chromium not found: `make chromium` (apt-get install chromium) installs it")
    return browser


def _in_browser(browser: str, page: Path, probe: str = PROBE, *flags: str):
    """What `probe`, appended to a copy of `page`, writes into the body's data-probe attribute in Chromium."""
    copy = page.with_name(f"probe-{page.name}")
    copy.write_text(page.read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--allow-file-access-from-files", "--virtual-time-budget=20000", *flags, "--dump-dom",
                           copy.as_uri()], capture_output=True, text=True, timeout=180)
    match = re.search(r'data-probe="([^"]*)"', proc.stdout)
    assert match, f"Chromium did not run the probe on {page.name}: {proc.stderr[-1500:]}"
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.mark.parametrize("stem", ["README", "notebooks/07_hand_gender_search"])
def test_a_browser_shows_every_image_decoded(site, stem):
    browser = _chromium()
    page = site / f"{stem}.html"
    images = _in_browser(browser, page)
    assert len(images) == len(_parse(page).images) == _parse(page).img_tags > 0  # all local: offline
    blank = [image["src"] for image in images if image["width"] == 0]
    assert not blank, f"{page.name}: images not decoded in Chromium: {blank}"


# Appended to a copy of a page: once MathJax has typeset the page (or after 5 s without MathJax), the number of
# formulas typeset and of TeX errors go into the DOM.
MATH_PROBE = """<script>
window.addEventListener("load", async () => {
  const started = () => Boolean(window.MathJax && MathJax.startup && MathJax.startup.promise);
  for (let i = 0; i < 50 && !started(); i++) await new Promise(done => setTimeout(done, 100));
  if (started()) await MathJax.startup.promise.catch(() => null);
  document.body.setAttribute("data-probe", JSON.stringify({mathjax: started(),
      typeset: document.querySelectorAll("mjx-container").length,
      errors: document.querySelectorAll("mjx-merror").length}));
});
</script>"""
# Chromium's network, cut: no host name resolves, and every request goes through a closed local port.
OFFLINE = ("--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND")
MATH_PAGE = "notebooks/03_bilevel_approximation"  # inline and display formulas of the bilevel problem


def _scripts(page: Path) -> list[str]:
    return re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', page.read_text(encoding="utf-8"))


def _formulas(page: Path) -> int:
    """The formulas of a page, as Sphinx writes them for MathJax (inline spans and display divs)."""
    return len(re.findall(r'<(?:span|div) class="math\b', page.read_text(encoding="utf-8")))


def test_a_browser_typesets_the_formulas_with_the_network_cut(site):
    """Notebook 03's page, offline: every formula typeset by the MathJax the book serves itself."""
    browser = _chromium()
    if not site_tool.local_mathjax():
        pytest.skip(f"{site_tool.MATHJAX} not installed, so MathJax comes from its CDN: `make install-test` "
                    "(pip install -e '.[site]') installs it")
    page = site / f"{MATH_PAGE}.html"
    remote = [src for src in _scripts(page) if urlsplit(src).scheme or src.startswith("//")]
    assert not remote, f"{page.name} loads scripts from the network: {remote}"
    assert any("_static/mathjax/" in src for src in _scripts(page)), f"{page.name} loads no MathJax of the book"
    math = _in_browser(browser, page, MATH_PROBE, *OFFLINE)
    assert math["mathjax"] and not math["errors"], f"{page.name}: MathJax did not run or failed offline: {math}"
    assert math["typeset"] == _formulas(page) > 0, f"{page.name}: {math['typeset']} of {_formulas(page)} typeset"


def test_the_control_formulas_from_the_cdn_stay_tex_with_the_network_cut(site):
    """The same page with MathJax from its CDN (the build's fallback): offline, no formula is typeset."""
    from sphinx.ext.mathjax import MATHJAX_URL  # Sphinx's default: what the build falls back to

    browser = _chromium()
    page = site / f"{MATH_PAGE}.html"
    mathjax = [src for src in _scripts(page) if "mathjax" in src.lower()]
    assert len(mathjax) == 1, f"{page.name}: MathJax scripts {mathjax}"
    cdn = page.with_name(f"cdn-{page.name}")
    cdn.write_text(page.read_text(encoding="utf-8").replace(f'src="{mathjax[0]}"', f'src="{MATHJAX_URL}"'),
                   encoding="utf-8")
    math = _in_browser(browser, cdn, MATH_PROBE, *OFFLINE)
    assert not math["mathjax"] and math["typeset"] == 0, f"MathJax came from its CDN with the network cut: {math}"


def test_the_book_builds_with_no_network_at_all(site):
    """`make site` in a network namespace of its own (no interface but loopback, down): nothing is fetched.
    The `site` fixture built the book that way; every other test here reads that offline build."""
    if not _can_cut_the_network():
        pytest.skip("cannot cut the network here (`unshare -n` needs root or user namespaces)")
    assert (site / "README.html").is_file() and len(list((site / "_images").iterdir())) >= len(readme_images())