"""The import rules of ARCHITECTURE.md, checked on the source: no import circle, layers inside each package, the
package order of its table, selectors that only read, and the table naming exactly the package folders.

Each rule is also run on a copy of the tree with one deliberate breach, so a checker that stopped seeing breaches
fails here too.
"""
from __future__ import annotations

import ast
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Endpoints: no other package imports them (the root urls.py gathers the urls).
ENDPOINTS = {"api", "views", "urls", "tasks"}
# What pages and endpoints of several packages share (access checks, serializers, forms, throttles): interface
# code too, so the domain layers never import it.
INTERFACE = ENDPOINTS | {"forms", "access", "serializers", "throttles", "http", "filters"}
# Top-level modules that wire the packages together (Django's and Celery's entry points) may import anything.
WIRING = {"urls", "models", "admin", "signals", "celery", "apps", "asgi", "wsgi", "settings", "management",
          "templatetags"}
# Calls that write: a selector making one is a service in disguise.
WRITES = {"save", "bulk_create", "bulk_update", "get_or_create", "update_or_create", "write_bytes", "write_text",
          "mkdir", "unlink", "rmtree", "mkstemp", "delete"}
QUERYSET_WRITES = {"create", "update"}


def package_order(root: Path) -> list[str]:
    """The packages of ARCHITECTURE.md's table, lowest first."""
    text = (root / "ARCHITECTURE.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `(\w+)/` \|", text, flags=re.M)


def package_folders(root: Path) -> set[str]:
    app = root / "labeling_app"
    return {p.parent.name for p in app.glob("*/__init__.py")} - WIRING - {"migrations"}


def _modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in (root / "labeling_app").rglob("*.py"):
        rel = path.relative_to(root).with_suffix("")
        if "migrations" in rel.parts:
            continue
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, bool, int]]:
    """(imported module, under TYPE_CHECKING only, line) for every labeling_app module `name` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        seen = set()
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + ".") and target != "labeling_app" and (
                    target not in seen):
                seen.add(target)
                found.append((target, id(node) in typing_only, node.lineno))
    return found


def _layer(name: str) -> tuple[str | None, str]:
    """(package or None for a top-level module, layer: api, views, services, selectors, models or the module)."""
    parts = name.split(".")[1:] or ["__init__"]
    if parts[0] in WIRING or len(parts) == 1:
        return None, parts[0]
    return parts[0], parts[1]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _selector_writes(name: str, path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr, owner = node.func.attr, node.func.value
            on_rows = (isinstance(owner, ast.Attribute) and owner.attr == "objects") or (
                isinstance(owner, ast.Call) and isinstance(owner.func, ast.Attribute)
                and owner.func.attr in {"filter", "exclude", "all", "select_for_update"})
            if attr in WRITES or (attr in QUERYSET_WRITES and on_rows):
                out.append(f"{name}:{node.lineno} selector writes ({attr})")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "open":
            modes = [a for a in node.args[1:2] if isinstance(a, ast.Constant)]
            if any(set(str(m.value)) & set("wax+") for m in modes):
                out.append(f"{name}:{node.lineno} selector writes a file")
    return out


def breaches(root: Path) -> list[str]:
    """Every breach of ARCHITECTURE.md's import rules in the tree at `root`."""
    modules = _modules(root)
    order = package_order(root)
    rank = {p: i for i, p in enumerate(order)}
    out: list[str] = []
    folders = package_folders(root)
    if set(order) != folders or len(order) != len(set(order)):
        out.append(f"ARCHITECTURE.md lists {sorted(order)}, the tree has {sorted(folders)}")
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        graph[name]
        src_pkg, src_layer = _layer(name)
        if src_pkg is not None and src_layer == "selectors":
            out += _selector_writes(name, path)
        for target, typing_only, line in _imports(name, path, modules):
            graph[name].add(target)
            if typing_only or src_pkg is None:
                continue
            dst_pkg, dst_layer = _layer(target)
            if dst_pkg == "core" and src_pkg != "core":
                continue  # the plumbing every package may use (core itself is held below the rest by the order)
            where = f"{name}:{line} imports {target}"
            domain = src_layer not in INTERFACE
            if dst_pkg is None and dst_layer not in ("settings", "celery"):
                out.append(f"{where}: a package uses the top-level wiring")
            elif src_layer == "services" and dst_layer == "tasks":
                out.append(f"{where}: services ask for jobs by name, never import tasks")
            elif src_layer == "selectors" and dst_layer == "services":
                out.append(f"{where}: selectors only read")
            elif src_layer == "models" and dst_layer != "models" and dst_pkg != "core":
                out.append(f"{where}: models import only models")
            elif dst_pkg is not None and dst_pkg != src_pkg and dst_layer in ENDPOINTS:
                out.append(f"{where}: another package's {dst_layer}")
            elif domain and dst_layer in INTERFACE:
                out.append(f"{where}: a lower layer uses {dst_layer}")
            elif domain and dst_pkg is not None and dst_pkg != src_pkg and rank.get(dst_pkg, -1) > rank.get(
                    src_pkg, -1):
                out.append(f"{where}: {src_pkg} sits below {dst_pkg} (ARCHITECTURE.md)")
    out += [f"import circle: {' '.join(c)}" for c in _cycles(graph)]
    return out


def test_the_tree_keeps_the_rules() -> None:
    assert breaches(ROOT) == []


def test_the_table_names_every_package_folder_once() -> None:
    assert package_order(ROOT) and sorted(package_order(ROOT)) == sorted(package_folders(ROOT))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the source the rules read, to break on purpose."""
    shutil.copy(ROOT / "ARCHITECTURE.md", tmp_path)
    shutil.copytree(ROOT / "labeling_app", tmp_path / "labeling_app",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "templates", "migrations"))
    assert breaches(tmp_path) == []
    return tmp_path


def _add(tree: Path, module: str, line: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")


def test_a_deliberate_circle_is_found(tree: Path) -> None:
    # outbox imports the registry; the registry importing outbox closes a circle of two modules.
    _add(tree, "labeling_app.jobs.registry", "from labeling_app.jobs.services.outbox import enqueue_on_commit")
    found = [b for b in breaches(tree) if b.startswith("import circle")]
    assert found and "labeling_app.jobs.registry" in found[0] and "labeling_app.jobs.services.outbox" in found[0]


@pytest.mark.parametrize(("module", "line", "says"), [
    ("labeling_app.labeling.services.queue", "from labeling_app.insights.selectors.insights import prevalence",
     "labeling sits below insights"),
    ("labeling_app.themes.selectors", "from labeling_app.themes.services.themes import theme_create",
     "selectors only read"),
    ("labeling_app.modeling.services.training", "from labeling_app.modeling.tasks import training",
     "never import tasks"),
    ("labeling_app.review.views", "from labeling_app.labeling.api import labeling", "another package's api"),
    ("labeling_app.themes.models", "from labeling_app.themes.services.themes import theme_create",
     "models import only models"),
])
def test_a_layer_or_package_used_against_the_rules_is_found(tree: Path, module: str, line: str, says: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    if not path.exists():
        path.write_text('"""A module made for the test."""\n', encoding="utf-8")
    _add(tree, module, line)
    assert any(says in b for b in breaches(tree)), breaches(tree)


def test_a_selector_that_writes_is_found(tree: Path) -> None:
    _add(tree, "labeling_app.discovery.selectors",
         "def _cache(path):\n    path.write_bytes(b'x')\n\n\ndef _bump(run):\n"
         "    run.__class__.objects.filter(pk=run.pk).update(seed=1)")
    found = [b for b in breaches(tree) if "selector writes" in b]
    assert len(found) == 2


def test_a_package_missing_from_the_table_is_found(tree: Path) -> None:
    (tree / "labeling_app" / "billing").mkdir()
    (tree / "labeling_app" / "billing" / "__init__.py").write_text("")
    assert any("ARCHITECTURE.md lists" in b for b in breaches(tree))
