"""Upgrade an old-head database with this tree's code and print what was found as JSON (run in a subprocess by
tests/migrations/test_upgrade.py, with DATABASE_URL naming the database).

Every table's rows as stored, read with plain SQL and no models, before and after `migrate` (they show that no row
or value was lost or changed); then the data through the new packages' models (relations followed, binary fields
decoded), what is left to migrate, whether the models and migrations agree, and whether new rows can be written
beside the old ones. One process for all of it: Django's start-up is most of the test's time.
"""
import contextlib
import io
import json
import os
import sys
from datetime import datetime
from typing import Any

import django
import numpy as np
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction


def _plain(value: Any) -> Any:
    if isinstance(value, memoryview | bytes):
        return "hex:" + bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def table_rows() -> dict[str, dict[str, list]]:
    """{table: {"columns": [...], "rows": [...]}}, rows in a fixed order whatever order the database returns."""
    tables = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = [[_plain(v) for v in row] for row in cursor.fetchall()]
            tables[table] = {"columns": [c[0] for c in cursor.description],
                             "rows": sorted(rows, key=lambda row: json.dumps(row, default=str))}
    return tables


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def story() -> dict[str, Any]:
    """The data as the app sees it, through the models of the packages they now live in."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from labeling_app.audit.models import AuditEvent
    from labeling_app.discovery.models import Cluster, ClusterAction, DiscoveryRun
    from labeling_app.importing.models import ImportJob
    from labeling_app.insights.models import QuotePin
    from labeling_app.jobs.models import OutboxJob
    from labeling_app.labeling.models import Adjudication, Annotation, LabelQueue, QueueLease, SuggestionRejection
    from labeling_app.modeling.models import EmbeddingRun, ModelVersion, ResponseEmbedding
    from labeling_app.projects.models import Invitation, Membership, Project, Response
    from labeling_app.themes.models import Theme

    user_model = get_user_model()
    rid = dict(Response.objects.values_list("pk", "respondent_id"))
    project = Project.objects.select_related("created_by", "current_model").get(name="Cancellations")

    def themes(qs: Any) -> list[str]:
        return sorted(t.name for t in qs.all())

    counts = {m._meta.label: m.objects.count() for m in [*apps.get_app_config("labeling_app").get_models(),
                                                         user_model, Token]}
    counts["labeling_app.Annotation.themes"] = Annotation.themes.through.objects.count()
    counts["labeling_app.Adjudication.themes"] = Adjudication.themes.through.objects.count()
    versions = {}
    for v in ModelVersion.objects.filter(project=project):
        n = len(v.response_ids) // 8
        probabilities = np.frombuffer(v.probabilities, dtype=np.float16).reshape(n, -1) if n else np.zeros((0, 0))
        versions[v.number] = {
            "status": v.status, "micro_f1": v.micro_f1, "quality_interval": v.quality_interval, "error": v.error,
            "themes": [Theme.objects.get(pk=pk).name for pk in v.theme_ids],
            "rows": [rid[pk] for pk in np.frombuffer(v.response_ids, dtype=np.int64).tolist()],
            "probabilities": np.round(probabilities.astype(float), 2).tolist(), "attempts": v.attempts}
    run = DiscoveryRun.objects.select_related("map_layout", "created_by").get(project=project, seed=7)
    embedding_run = EmbeddingRun.objects.get(project=project)
    return {
        "counts": counts,
        "users": {u.username: [u.is_active, u.is_staff, u.is_superuser, u.email]
                  for u in user_model.objects.order_by("username")},
        "token_of": Token.objects.get().user.username,
        "project": {"question": project.question, "batch": project.labeling_batch_size,
                    "strategy": project.active_learning_strategy, "overlap": [project.overlap_share,
                                                                               project.overlap_coders],
                    "score_higher_is_better": project.score_higher_is_better,
                    "labels_revision": project.labels_revision, "current_model": project.current_model.number,
                    "created_by": project.created_by.username, "created_at": _when(project.created_at)},
        "members": {p.name: {m.user.username: [m.role, m.codes_overlap] for m in
                             Membership.objects.filter(project=p).select_related("user")}
                    for p in Project.objects.all()},
        "themes": [[t.project.name, t.name, t.shortcut, t.order, t.archived, t.colour]
                   for t in Theme.objects.select_related("project").order_by("project__name", "order")],
        "responses": {r.respondent_id: [r.text, r.metadata, r.is_overlap,
                                        r.import_job.original_name if r.import_job else None]
                      for r in Response.objects.select_related("import_job")},
        "annotations": sorted(
            [rid[a.response_id], a.coder.username, themes(a.themes), a.is_current, a.source, a.flagged,
             a.needs_recoding, a.is_complete, a.note, a.changed_by.username if a.changed_by else None,
             themes(a.supersedes.themes) if a.supersedes else None]
            for a in Annotation.objects.select_related("coder", "changed_by", "supersedes")),
        "adjudications": sorted([rid[a.response_id], a.kind, themes(a.themes), a.decided_by.username,
                                 a.is_current, a.comment] for a in Adjudication.objects.all()),
        "model_versions": versions,
        "label_queue": [[rid[pk] for pk in q.response_ids] + [q.model_version.number, q.strategy]
                        for q in LabelQueue.objects.all()],
        "leases": [[rid[x.response_id], x.user.username, x.skipped, _when(x.expires_at)]
                   for x in QueueLease.objects.all()],
        "rejections": [[rid[x.response_id], x.theme.name, x.user.username]
                       for x in SuggestionRejection.objects.all()],
        "import_job": [[j.status, j.original_name, j.file.name, j.errors, j.uploaded_by.username,
                        j.responses_created, j.summary, _when(j.file_purged_at)] for j in ImportJob.objects.all()],
        "discovery": {"runs": sorted([r.seed, r.status] for r in DiscoveryRun.objects.all()),
                      "map_layout": run.map_layout.status, "created_by": run.created_by.username,
                      "layout": np.frombuffer(run.layout, dtype=np.float32).tolist(),
                      "clusters": [[c.name, c.size, c.keywords, c.active, c.is_outliers, c.dismissed,
                                    c.theme.name if c.theme else None, c.parent.name if c.parent else None,
                                    sorted(rid[a.response_id] for a in c.assignments.all()),
                                    [rid[pk] for pk in c.representative_ids]]
                                   for c in Cluster.objects.filter(run=run).order_by("name")],
                      "actions": sorted([a.kind, a.summary, a.undone, a.user.username]
                                        for a in ClusterAction.objects.filter(run=run))},
        "embeddings": {rid[e.response_id]: [e.model_name, np.frombuffer(e.vector, dtype=np.float32).astype(float).round(3).tolist()]
                       for e in ResponseEmbedding.objects.all()},
        "embedding_run": [embedding_run.status, embedding_run.percent,
                          [[c.index, rid[c.first_response_id], rid[c.last_response_id], c.status, c.worker]
                           for c in embedding_run.chunks.all()]],
        "quote_pins": [[p.theme.name, rid[p.response_id], p.pinned_by.username] for p in QuotePin.objects.all()],
        "audit": sorted([e.action, e.actor.username if e.actor else None, e.actor_name, e.summary, e.before, e.after]
                        for e in AuditEvent.objects.all()),
        "invitations": sorted([i.project.name, i.username, i.role, i.status,
                               i.invitee.username if i.invitee else None, i.invited_by.username]
                              for i in Invitation.objects.all()),
        "outbox": sorted([o.task, o.kwargs == {"project_id": project.pk}, o.key == OutboxJob.key_for(o.task, o.kwargs),
                          o.send_failed_at is not None] for o in OutboxJob.objects.all()),
    }


def unknown_tasks() -> list[str]:
    """Outbox rows whose task this code does not register: the sweep could not send them after the upgrade."""
    from labeling_app.celery import app
    from labeling_app.jobs.models import OutboxJob

    app.loader.import_default_modules()
    return sorted(set(OutboxJob.objects.values_list("task", flat=True)) - set(app.tasks))


def pending_migrations() -> list[str]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return [str(m) for m, _ in executor.migration_plan(executor.loader.graph.leaf_nodes())]


def makemigrations_check() -> str:
    """`makemigrations --check --dry-run`'s report: "No changes detected" when the models match the migrations."""
    out = io.StringIO()
    with contextlib.suppress(SystemExit):  # it exits 1 when there are changes; the report says which
        call_command("makemigrations", check=True, dry_run=True, stdout=out, stderr=out)
    return out.getvalue().strip()


def writes_after_upgrade() -> dict[str, bool]:
    """New rows beside the old ones: ids continue past the old ones (sequences kept), and a constraint holds."""
    from django.contrib.auth import get_user_model

    from labeling_app.labeling.models import Annotation
    from labeling_app.projects.models import Project, Response
    from labeling_app.themes.models import Theme

    project = Project.objects.get(name="Cancellations")
    old_max = {m: m.objects.order_by("-pk").values_list("pk", flat=True)[0] for m in (Theme, Response, Annotation)}
    theme = Theme.objects.create(project=project, name="Refunds", shortcut="4", order=4)
    response = Response.objects.create(project=project, respondent_id="R7", text="Refund never came")
    coder = get_user_model().objects.get(username="ana")
    annotation = Annotation.objects.create(response=response, coder=coder)
    annotation.themes.set([theme])
    result = {"ids_continue": all(obj.pk > old_max[type(obj)] for obj in (theme, response, annotation))}
    try:
        with transaction.atomic():
            Annotation.objects.create(response=response, coder=coder)
        result["one_current_annotation_per_coder"] = False
    except IntegrityError:
        result["one_current_annotation_per_coder"] = True
    return result


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeling_app.settings")
    django.setup()
    before = table_rows()
    # As `manage.py migrate` runs it: system checks first (call_command skips them unless told).
    call_command("migrate", interactive=False, skip_checks=False, stdout=io.StringIO())
    found = {"before": before, "rows": table_rows(), "story": story(),
             "unknown_tasks": unknown_tasks(), "pending_migrations": pending_migrations(),
             "makemigrations": makemigrations_check(), "writes": writes_after_upgrade()}
    json.dump(found, sys.stdout, default=str)
