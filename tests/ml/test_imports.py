"""ml/ must stay framework-free: no django, rest_framework, celery or labeling_app imports anywhere."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {"django", "rest_framework", "celery", "labeling_app"}
ML_DIR = Path(__file__).resolve().parents[2] / "ml"


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in {
            "import_module", "__import__"
        }:
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    roots.add(arg.value.split(".")[0])
    return roots


def test_ml_has_python_files() -> None:
    assert {p.name for p in ML_DIR.glob("*.py")} >= {"embeddings.py", "classifier.py", "active_learning.py"}


def test_ml_imports_no_web_framework() -> None:
    offenders = {
        str(p.relative_to(ML_DIR)): sorted(_imported_roots(p) & FORBIDDEN) for p in ML_DIR.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_checker_detects_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from django.db import models\nimport celery.app\n", encoding="utf-8")
    assert _imported_roots(bad) & FORBIDDEN == {"django", "celery"}
