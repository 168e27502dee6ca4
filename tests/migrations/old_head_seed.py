"""Migrate a fresh database with the code of the previous head (8fbf035, before the move into packages) and fill it
through that code's models with one of everything: run by tests/migrations/test_upgrade.py in a subprocess whose
only ThemeLoop code is the old tree (cwd and PYTHONPATH), never imported by the suite.

Also what made old_head.sql (the same data on SQLite, for a checkout without the old commit):

    git archive 8fbf035 labeling_app ml manage.py | tar -x -C /tmp/old-head
    cd /tmp/old-head && THEMELOOP_DEV=1 THEMELOOP_VAR_DIR=/tmp/old-head/var PYTHONPATH=. \
      DATABASE_URL=sqlite:////tmp/old-head/db.sqlite3 python <repo>/tests/migrations/old_head_seed.py \
      --dump <repo>/tests/migrations/old_head.sql

Every value is fixed (timestamps, token, password hashes), so the dump is the same each time it is made.
"""
import os
import sqlite3
import sys
from datetime import UTC, datetime, timedelta

import django
import numpy as np
from django.apps import apps
from django.core.management import call_command
from django.db import connection, models, transaction

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _job(minutes: int, **fields: object) -> dict[str, object]:
    """The JobRun fields of a job that ran at T0 + minutes (one delivery)."""
    at = T0 + timedelta(minutes=minutes)
    return {"task_id": f"task-{minutes}", "attempts": 1, "started_at": at, "heartbeat_at": at,
            "finished_at": at + timedelta(seconds=30), **fields}


def seed() -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    import labeling_app.models
    from labeling_app.celery import app as celery_app
    from labeling_app.models import (
        Adjudication,
        Annotation,
        AuditEvent,
        Cluster,
        ClusterAction,
        ClusterAssignment,
        DiscoveryRun,
        EmbeddingChunk,
        EmbeddingRun,
        ImportJob,
        Invitation,
        LabelQueue,
        MapLayout,
        Membership,
        ModelVersion,
        OutboxJob,
        Project,
        QueueLease,
        QuotePin,
        Response,
        ResponseEmbedding,
        SuggestionRejection,
        Theme,
    )

    if not hasattr(labeling_app.models, "__path__"):  # a package of modules, then a module
        raise SystemExit("not the previous head's code: data made by the new code proves nothing about an upgrade")
    User = get_user_model()
    users = {}
    for name, extra in [("alice", {"is_staff": True, "is_superuser": True, "email": "alice@example.org"}),
                        ("lee", {"first_name": "Lee"}), ("ana", {}), ("andy", {}), ("oscar", {"is_active": False})]:
        users[name] = User.objects.create(username=name, password=f"!fixed-unusable-{name}", **extra)
    alice, lee, ana, andy, oscar = (users[n] for n in ("alice", "lee", "ana", "andy", "oscar"))
    Token.objects.create(user=alice, key="0f" * 20)

    project = Project.objects.create(
        name="Cancellations", question="Why did you cancel?", labeling_batch_size=12, active_learning_strategy="margin",
        overlap_share=0.25, overlap_coders=2, score_higher_is_better=False, labels_revision=9, created_by=alice)
    other = Project.objects.create(name="Other project", created_by=oscar)
    for user, role, overlap in [(alice, "admin", True), (lee, "lead", False), (ana, "analyst", True),
                                (andy, "analyst", True)]:
        Membership.objects.create(project=project, user=user, role=role, codes_overlap=overlap)
    Membership.objects.create(project=other, user=oscar, role="admin")

    price = Theme.objects.create(project=project, name="Price", description="Cost, fees, refunds", colour="#e45756",
                                 shortcut="1", order=0)
    delivery = Theme.objects.create(project=project, name="Delivery", shortcut="2", order=1)
    staff = Theme.objects.create(project=project, name="Staff", shortcut="3", order=2)
    # Archived, it keeps a shortcut a current theme has: the shortcut rule covers current themes only.
    waiting = Theme.objects.create(project=project, name="Waiting times", shortcut="1", order=3, archived=True)
    Theme.objects.create(project=other, name="Price", order=0)

    import_job = ImportJob.objects.create(
        project=project, uploaded_by=alice, file="imports/2026/11/cancellations.csv", file_purged_at=T0,
        original_name="cancellations.csv", status="succeeded", progress=100,
        errors=[{"row": 8, "message": "empty answer"}], responses_created=4, themes_created=3, themes_in_file=3,
        labels_created=1, **_job(1))
    texts = [
        ("R1", "Too expensive for what it is", {"age": "35-44", "score": 4}, False),
        ("R2", "Délai de livraison trop long — trois semaines", {"age": "55+", "score": 5, "ward": "Ward 7"}, False),
        ("R3", "The courier left it in the rain", {}, False),
        ("R4", "No reason", {"score": None}, False),
        ("R5", "Price went up and the box came late", {"age": "18-24", "score": 3}, True),
        ("R6", "Rude staff on the phone", {"tags": ["phone", "staff"]}, True),
    ]
    r = {rid: Response.objects.create(project=project, respondent_id=rid, text=text, metadata=meta, is_overlap=overlap,
                                      import_job=import_job if rid <= "R4" else None)
         for rid, text, meta, overlap in texts}

    def annotate(response: Response, coder: object, themes: list[Theme], **fields: object) -> Annotation:
        annotation = Annotation.objects.create(response=response, coder=coder, **fields)
        annotation.themes.set(themes)
        return annotation

    # A recoding: the first version superseded by the second, as annotation_submit does it.
    first = annotate(r["R1"], ana, [price], note="first read")
    Annotation.objects.filter(pk=first.pk).update(is_current=False)
    annotate(r["R1"], ana, [price, delivery], supersedes=first, changed_by=alice, note="merged Fees into Price")
    annotate(r["R1"], andy, [price], source="import")
    annotate(r["R2"], ana, [staff], source="suggestion", is_complete=False)
    annotate(r["R3"], andy, [delivery, waiting], flagged=True, needs_recoding=True)
    annotate(r["R4"], lee, [])  # "none apply" is a coding too
    # Blind double coding: two analysts on each overlap response, disagreeing on R5, agreeing on R6.
    annotate(r["R5"], ana, [price])
    annotate(r["R5"], andy, [delivery])
    annotate(r["R6"], ana, [staff])
    annotate(r["R6"], andy, [staff])
    Adjudication.objects.create(response=r["R5"], kind="send_back", decided_by=lee, comment="Read it again",
                                is_current=False)
    resolved = Adjudication.objects.create(response=r["R5"], decided_by=lee, comment="Both apply")
    resolved.themes.set([price, delivery])

    ids = np.array([r[k].pk for k in sorted(r)], dtype=np.int64)
    probabilities = np.array([[0.9, 0.2, 0.1], [0.1, 0.3, 0.8], [0.2, 0.7, 0.1], [0.1, 0.1, 0.2],
                              [0.6, 0.6, 0.1], [0.1, 0.1, 0.9]], dtype=np.float16)
    current = ModelVersion.objects.create(
        project=project, number=1, status="ready", labels_revision=8, labelled_responses=5, labels_used=7,
        micro_f1=0.71, macro_f1=0.64, quality_interval={"micro": [0.6, 0.8], "macro": [0.5, 0.75], "level": 0.9,
                                                        "rows": 5},
        per_theme=[{"theme_id": price.pk, "f1": 0.8}], artifact="models/1/v1.joblib", response_ids=ids.tobytes(),
        probabilities=probabilities.tobytes(), theme_ids=[price.pk, delivery.pk, staff.pk], thresholds=[0.5, 0.4, 0.45],
        made_current_at=T0, train_seconds=1.25, **_job(2))
    ModelVersion.objects.create(project=project, number=2, status="failed", labels_revision=9,
                                **_job(3, attempts=3, message="out of memory"))
    project.current_model = current
    project.save(update_fields=["current_model"])
    LabelQueue.objects.create(project=project, response_ids=[r["R4"].pk, r["R2"].pk, r["R3"].pk],
                              model_version=current, strategy="margin")
    QueueLease.objects.create(project=project, response=r["R4"], user=andy, skipped=True,
                              expires_at=T0 + timedelta(hours=1))
    SuggestionRejection.objects.create(response=r["R2"], theme=delivery, user=andy)

    run = DiscoveryRun.objects.create(
        project=project, status="succeeded", n_clusters=2, min_cluster_size=2, seed=7, response_ids=ids.tobytes(),
        layout=np.arange(12, dtype=np.float32).reshape(6, 2).tobytes(), seconds=3.5, created_by=lee, **_job(4))
    DiscoveryRun.objects.create(project=project, seed=8)  # waiting for a worker when the upgrade comes
    MapLayout.objects.create(run=run, status="succeeded", **_job(5))
    fees = Cluster.objects.create(run=run, name="Price and fees", keywords=["price", "expensive"],
                                  phrases=["too expensive"], representative_ids=[r["R1"].pk, r["R5"].pk], size=2,
                                  theme=price)
    parcels = Cluster.objects.create(run=run, name="Delivery", keywords=["courier", "late"], size=2)
    late = Cluster.objects.create(run=run, name="Late parcels", size=1, active=False, parent=parcels)
    rest = Cluster.objects.create(run=run, name="Outliers", size=2, is_outliers=True, dismissed=True)
    for rid, cluster in [("R1", fees), ("R5", fees), ("R2", parcels), ("R3", parcels), ("R4", rest), ("R6", rest)]:
        ClusterAssignment.objects.create(run=run, response=r[rid], cluster=cluster)
    ClusterAction.objects.create(run=run, user=lee, kind="merge", summary="Merged Late parcels into Delivery",
                                 before={"clusters": [{"id": late.pk, "active": True}]}, created={})
    ClusterAction.objects.create(run=run, user=lee, kind="make_theme", summary="Made theme Price from a cluster",
                                 created={"theme": price.pk}, undone=True)

    for rid in ("R1", "R2"):
        ResponseEmbedding.objects.create(response=r[rid], model_name="all-MiniLM-L6-v2", text_hash=rid.lower() * 32,
                                         vector=np.linspace(-1, 1, 8, dtype=np.float32).tobytes())
    embedding_run = EmbeddingRun.objects.create(project=project, status="succeeded", total=6, embedded=6, **_job(6))
    EmbeddingChunk.objects.create(run=embedding_run, index=0, first_response_id=r["R1"].pk,
                                  last_response_id=r["R6"].pk, status="succeeded", worker="celery@w1", total=6,
                                  embedded=6, **_job(7))

    QuotePin.objects.create(project=project, theme=price, response=r["R1"], pinned_by=lee)
    AuditEvent.objects.create(project=project, actor=alice, actor_name="alice", action="theme.archive",
                              target_type="theme", target_id=str(waiting.pk), summary="Archived Waiting times",
                              before={"archived": False}, after={"archived": True})
    AuditEvent.objects.create(project=project, action="model.promote", target_type="model_version",
                              target_id=str(current.pk), after={"number": 1})
    Invitation.objects.create(project=project, username="newbie", role="lead", invited_by=alice)
    Invitation.objects.create(project=project, username="andy", invitee=andy, invited_by=alice, status="accepted",
                              responded_at=T0)
    Invitation.objects.create(project=other, username="ana", invitee=ana, invited_by=oscar, status="revoked",
                              responded_at=T0)

    # A job asked for by every task the old code had, waiting in the outbox (the broker was down): after the
    # upgrade the sweep sends each by the name stored here.
    celery_app.loader.import_default_modules()
    names = sorted(name for name in celery_app.tasks if name.startswith("labeling_app."))
    for i, name in enumerate(names):
        kwargs = {"project_id": project.pk}
        OutboxJob.objects.create(task=name, kwargs=kwargs, key=OutboxJob.key_for(name, kwargs),
                                 send_failed_at=T0 if i == 0 else None)


def timestamps_fix() -> None:
    """Automatic timestamps to fixed values, in creation order, so every build of the data is the same."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    for model in [*apps.get_app_config("labeling_app").get_models(), get_user_model(), Token]:
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField)
                  and (f.auto_now or f.auto_now_add or f.name == "date_joined")]
        if not fields:
            continue
        for i, pk in enumerate(model.objects.order_by("pk").values_list("pk", flat=True)):
            model.objects.filter(pk=pk).update(**dict.fromkeys(fields, T0 + timedelta(minutes=i)))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE django_migrations SET applied = %s", [connection.ops.adapt_datetimefield_value(T0)])


def sqlite_dump(path: str) -> None:
    """The database as SQL text (sqlite3's iterdump): reviewable in a diff, loaded with executescript."""
    db = sqlite3.connect(connection.settings_dict["NAME"])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(f"{line}\n" for line in db.iterdump())
    db.close()


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
    django.setup()
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        seed()
        timestamps_fix()
    connection.close()
    if "--dump" in sys.argv:
        sqlite_dump(sys.argv[sys.argv.index("--dump") + 1])
