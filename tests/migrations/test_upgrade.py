"""A database made before the code moved into packages (the previous head, 8fbf035) upgrades with `migrate` and
keeps every row (issue 23).

Two ways to an old-head database, both then upgraded and read back alike:
- the old code itself, exported from git into a temporary folder, migrates a fresh database and fills it through
  its own models (old_head_seed.py): on SQLite, and on a scratch PostgreSQL database when DATABASE_URL names
  PostgreSQL. Skipped only where the checkout lacks that commit (a shallow clone);
- old_head.sql, the SQLite database the same script made with the old code (how: old_head_seed.py's docstring),
  committed so that the upgrade is tested in any checkout.
Then upgraded_read.py, with this tree's code, migrates it (system checks included, as `manage.py migrate`) and reads
it: every table's rows before and after must match (added tables and columns aside), and the data read through the
new models must be EXPECTED. Each tree runs in a subprocess of its own: its own settings, app registry and
database, as on a server.
"""
import io
import json
import os
import sqlite3
import subprocess
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OLD_HEAD = "8fbf035"
OLD_HEAD_MIGRATION = "0020_project_score_direction"
# Django's own bookkeeping gains rows as migrations are added (applied migrations, content types, permissions).
GROWING_TABLES = {"django_migrations", "django_content_type", "auth_permission"}

TASKS = ["labeling_app.tasks.discovery.discovery_compute", "labeling_app.tasks.discovery.discovery_layout",
         "labeling_app.tasks.embeddings.embeddings_chunk", "labeling_app.tasks.embeddings.embeddings_compute",
         "labeling_app.tasks.imports.import_run", "labeling_app.tasks.imports.import_uploads_purge",
         "labeling_app.tasks.training.retrain"]
EXPECTED_COUNTS = {
    "auth.User": 5, "authtoken.Token": 1, "labeling_app.Project": 2, "labeling_app.Membership": 5,
    "labeling_app.Theme": 5, "labeling_app.ImportJob": 1, "labeling_app.Response": 6, "labeling_app.Annotation": 10,
    "labeling_app.Annotation.themes": 11, "labeling_app.Adjudication": 2, "labeling_app.Adjudication.themes": 2,
    "labeling_app.ModelVersion": 2, "labeling_app.LabelQueue": 1, "labeling_app.QueueLease": 1,
    "labeling_app.SuggestionRejection": 1, "labeling_app.DiscoveryRun": 2, "labeling_app.MapLayout": 1,
    "labeling_app.Cluster": 4, "labeling_app.ClusterAssignment": 6, "labeling_app.ClusterAction": 2,
    "labeling_app.ResponseEmbedding": 2, "labeling_app.EmbeddingRun": 1, "labeling_app.EmbeddingChunk": 1,
    "labeling_app.QuotePin": 1, "labeling_app.AuditEvent": 2, "labeling_app.Invitation": 3,
    "labeling_app.OutboxJob": len(TASKS),
}
# A plain coding by hand: source, flagged, needs_recoding, is_complete, note, changed_by, superseded version.
MANUAL = ("manual", False, False, True, "", None, None)
EXPECTED = {
    "users": {"alice": [True, True, True, "alice@example.org"], "ana": [True, False, False, ""],
              "andy": [True, False, False, ""], "lee": [True, False, False, ""], "oscar": [False, False, False, ""]},
    "token_of": "alice",
    "project": {"question": "Why did you cancel?", "batch": 12, "strategy": "margin", "overlap": [0.25, 2],
                "score_higher_is_better": False, "labels_revision": 9, "current_model": 1, "created_by": "alice",
                "created_at": "2026-11-02T09:00:00+00:00"},
    "members": {"Cancellations": {"alice": ["admin", True], "lee": ["lead", False], "ana": ["analyst", True],
                                  "andy": ["analyst", True]},
                "Other project": {"oscar": ["admin", True]}},
    "themes": [["Cancellations", "Price", "1", 0, False, "#e45756"],
               ["Cancellations", "Delivery", "2", 1, False, "#4c78a8"],
               ["Cancellations", "Staff", "3", 2, False, "#4c78a8"],
               ["Cancellations", "Waiting times", "1", 3, True, "#4c78a8"],
               ["Other project", "Price", "", 0, False, "#4c78a8"]],
    "responses": {
        "R1": ["Too expensive for what it is", {"age": "35-44", "score": 4}, False, "cancellations.csv"],
        "R2": ["Délai de livraison trop long — trois semaines", {"age": "55+", "score": 5, "ward": "Ward 7"}, False,
               "cancellations.csv"],
        "R3": ["The courier left it in the rain", {}, False, "cancellations.csv"],
        "R4": ["No reason", {"score": None}, False, "cancellations.csv"],
        "R5": ["Price went up and the box came late", {"age": "18-24", "score": 3}, True, None],
        "R6": ["Rude staff on the phone", {"tags": ["phone", "staff"]}, True, None],
    },
    # [response, coder, themes, is_current, source, flagged, needs_recoding, is_complete, note, changed_by,
    #  themes of the version it superseded]
    "annotations": [
        ["R1", "ana", ["Delivery", "Price"], True, "manual", False, False, True, "merged Fees into Price", "alice",
         ["Price"]],
        ["R1", "ana", ["Price"], False, "manual", False, False, True, "first read", None, None],
        ["R1", "andy", ["Price"], True, "import", False, False, True, "", None, None],
        ["R2", "ana", ["Staff"], True, "suggestion", False, False, False, "", None, None],
        ["R3", "andy", ["Delivery", "Waiting times"], True, "manual", True, True, True, "", None, None],
        ["R4", "lee", [], True, *MANUAL],
        ["R5", "ana", ["Price"], True, *MANUAL],
        ["R5", "andy", ["Delivery"], True, *MANUAL],
        ["R6", "ana", ["Staff"], True, *MANUAL],
        ["R6", "andy", ["Staff"], True, *MANUAL],
    ],
    "adjudications": [["R5", "resolve", ["Delivery", "Price"], "lee", True, "Both apply"],
                      ["R5", "send_back", [], "lee", False, "Read it again"]],
    "model_versions": {
        "1": {"status": "ready", "micro_f1": 0.71, "error": "", "attempts": 1,
              "quality_interval": {"micro": [0.6, 0.8], "macro": [0.5, 0.75], "level": 0.9, "rows": 5},
              "themes": ["Price", "Delivery", "Staff"], "rows": ["R1", "R2", "R3", "R4", "R5", "R6"],
              "probabilities": [[0.9, 0.2, 0.1], [0.1, 0.3, 0.8], [0.2, 0.7, 0.1], [0.1, 0.1, 0.2],
                                [0.6, 0.6, 0.1], [0.1, 0.1, 0.9]]},
        "2": {"status": "failed", "micro_f1": None, "error": "out of memory", "attempts": 3, "quality_interval": {},
              "themes": [], "rows": [], "probabilities": []},
    },
    "label_queue": [["R4", "R2", "R3", 1, "margin"]],
    "leases": [["R4", "andy", True, "2026-11-02T10:00:00+00:00"]],
    "rejections": [["R2", "Delivery", "andy"]],
    "import_job": [["succeeded", "cancellations.csv", "imports/2026/11/cancellations.csv",
                    [{"row": 8, "message": "empty answer"}], "alice", 4, "imported 4 responses, 3 themes, 1 labels",
                    "2026-11-02T09:00:00+00:00"]],
    "discovery": {
        "runs": [[7, "succeeded"], [8, "pending"]], "map_layout": "succeeded", "created_by": "lee",
        "layout": [float(x) for x in range(12)],
        # [name, size, keywords, active, is_outliers, dismissed, theme, parent, members, representatives]
        "clusters": [["Delivery", 2, ["courier", "late"], True, False, False, None, None, ["R2", "R3"], []],
                     ["Late parcels", 1, [], False, False, False, None, "Delivery", [], []],
                     ["Outliers", 2, [], True, True, True, None, None, ["R4", "R6"], []],
                     ["Price and fees", 2, ["price", "expensive"], True, False, False, "Price", None, ["R1", "R5"],
                      ["R1", "R5"]]],
        "actions": [["make_theme", "Made theme Price from a cluster", True, "lee"],
                    ["merge", "Merged Late parcels into Delivery", False, "lee"]],
    },
    "embeddings": {rid: ["all-MiniLM-L6-v2", [-1.0, -0.714, -0.429, -0.143, 0.143, 0.429, 0.714, 1.0]]
                   for rid in ("R1", "R2")},
    "embedding_run": ["succeeded", 100, [[0, "R1", "R6", "succeeded", "celery@w1"]]],
    "quote_pins": [["Price", "R1", "lee"]],
    "audit": [["model.promote", None, "", "", None, {"number": 1}],
              ["theme.archive", "alice", "alice", "Archived Waiting times", {"archived": False}, {"archived": True}]],
    "invitations": [["Cancellations", "andy", "analyst", "accepted", "andy", "alice"],
                    ["Cancellations", "newbie", "lead", "pending", None, "alice"],
                    ["Other project", "ana", "analyst", "revoked", "ana", "oscar"]],
    # [task, kwargs kept, key kept, send failed]: one waiting job per task the old code had
    "outbox": [[task, True, True, i == 0] for i, task in enumerate(TASKS)],
}


def _run(args: list[str], *, tree: Path, database_url: str, var_dir: Path) -> str:
    """Run Python in `tree`'s code against the database at `database_url`; its standard output."""
    env = {**os.environ, "DATABASE_URL": database_url, "THEMELOOP_DEV": "1", "THEMELOOP_VAR_DIR": str(var_dir),
           "PYTHONPATH": str(tree), "DJANGO_SETTINGS_MODULE": "labeling_app.settings"}
    done = subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args} failed in {tree}:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return done.stdout


def _row_key(row: list) -> str:
    return json.dumps(row, default=str)  # the order upgraded_read.py sorts rows in


def _assert_upgrades(database_url: str, tmp_path: Path) -> None:
    """Migrate the old-head database at `database_url` with this tree and check that everything reads back."""
    found = json.loads(_run([str(HERE / "upgraded_read.py")], tree=ROOT, database_url=database_url,
                            var_dir=tmp_path / "var"))
    before, after = found.pop("before"), found
    applied = before["django_migrations"]
    app, name = applied["columns"].index("app"), applied["columns"].index("name")
    assert max(row[name] for row in applied["rows"] if row[app] == "labeling_app") == OLD_HEAD_MIGRATION

    for table, old in before.items():
        assert table in after["rows"], f"table {table} is gone"
        new = after["rows"][table]
        assert set(old["columns"]) <= set(new["columns"]), f"{table} lost columns"
        keep = [new["columns"].index(column) for column in old["columns"]]
        rows = sorted(([row[i] for i in keep] for row in new["rows"]), key=_row_key)
        if table in GROWING_TABLES:
            assert not Counter(map(_row_key, old["rows"])) - Counter(map(_row_key, rows)), f"{table} lost rows"
        else:
            assert rows == old["rows"], f"{table}: rows changed"
    story = after["story"]
    counts = story.pop("counts")
    assert {label: counts.get(label) for label in EXPECTED_COUNTS} == EXPECTED_COUNTS
    assert story == EXPECTED
    assert after["unknown_tasks"] == [], "outbox rows name tasks this code does not register"
    assert after["pending_migrations"] == []
    assert after["makemigrations"] == "No changes detected"
    assert after["writes"] == {"ids_continue": True, "one_current_annotation_per_coder": True}


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous head's code (the app, ml and manage.py), exported from git."""
    try:
        archive = subprocess.run(["git", "archive", OLD_HEAD, "labeling_app", "ml", "manage.py"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the previous head {OLD_HEAD} is not in this checkout ({exc}); "
                    "test_the_committed_old_head_database_upgrades still tests the upgrade")
    tree = tmp_path_factory.mktemp("old-head")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


@pytest.fixture
def scratch_postgres() -> Iterator[str]:
    """A fresh database on the PostgreSQL server DATABASE_URL names, dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    config = dj_database_url.parse(url) if url else {}
    if "postgresql" not in config.get("ENGINE", ""):
        pytest.skip("DATABASE_URL does not name PostgreSQL")
    import psycopg

    name = f"themeloop_upgrade_{os.getpid()}"
    server = {"dbname": "postgres", "autocommit": True, "host": config["HOST"] or None,
              "port": config["PORT"] or None, "user": config["USER"] or None, "password": config["PASSWORD"] or None}
    with psycopg.connect(**server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(url)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(**server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_committed_old_head_database_upgrades(tmp_path):
    path = tmp_path / "old-head.sqlite3"
    db = sqlite3.connect(path)
    db.executescript((HERE / "old_head.sql").read_text(encoding="utf-8"))
    db.close()
    _assert_upgrades(f"sqlite:///{path}", tmp_path)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_made_by_the_old_code_upgrades(backend, old_tree, tmp_path, request):
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'old-head.sqlite3'}"
    else:
        database_url = request.getfixturevalue("scratch_postgres")
    _run([str(HERE / "old_head_seed.py")], tree=old_tree, database_url=database_url, var_dir=tmp_path / "var-old")
    _assert_upgrades(database_url, tmp_path)
