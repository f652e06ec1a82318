"""The package's structure: no import cycles, no private names across modules, notebooks on public names only.

The layering itself (cli > hands > papers > core > data) is checked by `lint-imports` with the
contracts of pyproject.toml; these tests check what import-linter does not: cycles between single
modules (including imports inside functions), a cycle met at run time, private names, the
notebooks' imports, and module size.
"""
import ast
import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "darts_lite"
FACES = ("darts_lite", "darts_lite.core", "darts_lite.darts", "darts_lite.dag_blocks", "darts_lite.meta_kernels",
         "darts_lite.hands", "darts_lite.ground_truth", "darts_lite.data", "darts_lite.data.hands11k",
         "darts_lite.course", "darts_lite.proxies")
MAX_LINES = 300


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module an ImportFrom names (relative imports resolved against `module`)."""
    if node.level == 0:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[ast.AST, str, list[str]]]:
    """(node, imported module, names) of every darts_lite import of `module`, at any depth of its code."""
    out = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target.startswith("darts_lite"):
                out.append((node, target, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out += [(node, a.name, []) for a in node.names if a.name.startswith("darts_lite")]
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the darts_lite modules it imports (a name that is a submodule counts as that module).

    `from .x import y` runs x's package first, but the package is then already importing (it is an
    ancestor of the importer), so the edge goes to x alone.
    """
    graph = {}
    for module in MODULES:
        edges = set()
        for _, target, names in _imports(module):
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            edges.update(subs)
            if len(subs) < len(names) or not names:
                edges.add(target)
        graph[module] = {e for e in edges if e in MODULES and e != module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a list of nodes (first == last), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_module_imports_itself_through_a_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_importing_the_package_meets_no_module_half_initialised():
    """At run time: no import asks for a darts_lite module that is still executing (other than its own packages)."""
    probe = textwrap.dedent("""
        import builtins, importlib.util, sys
        real, seen = builtins.__import__, []
        def checked(name, globals=None, locals=None, fromlist=(), level=0):
            importer = (globals or {}).get("__name__", "")
            package = (globals or {}).get("__package__") or importer
            absolute = importlib.util.resolve_name("." * level + name, package) if level else name
            wanted = [absolute] + [f"{absolute}.{f}" for f in fromlist or () if f != "*"]
            for m in wanted:
                mod = sys.modules.get(m)
                spec = getattr(mod, "__spec__", None)
                if (m.startswith("darts_lite") and getattr(spec, "_initializing", False)
                        and not importer.startswith(m + ".") and importer != m):
                    seen.append(f"{importer} asked for {m} while it was initialising")
            return real(name, globals, locals, fromlist, level)
        builtins.__import__ = checked
        import darts_lite, darts_lite.cli  # noqa: E401
        print("\\n".join(seen) or "OK")
    """)
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "OK", out.stdout


def test_no_module_imports_a_private_name_of_another():
    offences = []
    for module in MODULES:
        imported_modules = {}
        for node, target, names in _imports(module):
            for alias in getattr(node, "names", []):
                bound = alias.asname or alias.name.split(".")[0]
                if f"{target}.{alias.name}" in MODULES or isinstance(node, ast.Import):
                    imported_modules[bound] = target
                elif alias.name.startswith("_") and target != module:
                    offences.append(f"{module} imports {alias.name} from {target}")
        for node in ast.walk(ast.parse(MODULES[module].read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported_modules and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                offences.append(f"{module} uses {node.value.id}.{node.attr}")
    assert not offences, "\n".join(offences)


def test_every_face_names_only_what_it_has():
    for face in FACES:
        module = importlib.import_module(face)
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert not missing, f"{face}.__all__ names {missing}, which it does not have"
        assert not [n for n in module.__all__ if n.startswith("_")], face


def _notebook_imports(path: Path) -> list[tuple[str, str]]:
    out = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line if not line.lstrip().startswith(("%", "!")) else
                         line[: len(line) - len(line.lstrip())] + "pass" for line in cell.source.splitlines())
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("darts_lite"):
                out += [(node.module, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                out += [(a.name, "") for a in node.names if a.name.startswith("darts_lite")]
    return out


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_import_only_public_names(path):
    wrong = []
    for module, name in _notebook_imports(path):
        if module not in FACES:
            wrong.append(f"{module} is not a public face; use one of {FACES}")
        elif name and name not in importlib.import_module(module).__all__:
            wrong.append(f"{name} is not in {module}.__all__")
    assert not wrong, "\n".join(wrong)


def test_modules_stay_short():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by concept): {long}"


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_show_their_settings_with_the_fields_own_descriptions(path):
    """Where a notebook builds a config it prints `explain()`: each setting with the one description of its field."""
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    builds = any(f" = {cls}(" in code for cls in ("SearchConfig", "DAGSearchConfig", "KernelSearchConfig",
                                                   "ExperimentConfig"))
    assert not builds or ".explain()" in code, f"{path.name} builds a config but never shows explain()"
