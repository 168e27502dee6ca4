"""Project states that tests in several packages build: every id a URL may need, a finished discovery run, a
disagreement, embedding runs done as the workers would."""
import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling_app.exporting.models import ReportExport
from labeling_app.importing.models import ImportJob
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.projects.models import Invitation, Role


def project_url_ids(pp):
    project = pp.project
    job = ImportJob.objects.create(project=project, original_name="x.csv", file=SimpleUploadedFile("x.csv", b"a"))
    # The outsider is invited but has not answered: every project URL must still be a 404 to them.
    invitation = Invitation.objects.create(project=project, username=pp.outsider.username, invitee=pp.outsider,
                                           role=Role.ANALYST, invited_by=pp.admin)
    # A printed report (as a worker leaves it), so its file can be downloaded.
    report = ReportExport.objects.create(project=project, status=ReportExport.Status.SUCCEEDED, size=9,
                                         file=SimpleUploadedFile("report.pdf", b"%PDF-1.4\n"))
    run, clusters = discovery_run_make(project)
    disagreement_make(pp)
    # A numeric and a date column so the insights drivers and trends views have something to read.
    for k, r in enumerate(project.responses.all()):
        r.metadata = {"score": str(k + 1), "day": f"2024-01-0{k % 9 + 1}"}
        r.save(update_fields=["metadata"])
    return {
        "run_id": run.pk,
        "cluster_id": clusters[0].pk,
        "cluster_ids": [c.pk for c in clusters],
        "project_id": project.pk,
        "theme_id": pp.themes[0].pk,
        "response_id": project.responses.first().pk,
        "import_id": job.pk,
        "report_id": report.pk,
        "invitation_id": invitation.pk,
        "member_id": project.memberships.get(user=pp.analyst2).pk,
        "view": "prevalence",
        "fmt": "svg",
    }


def disagreement_make(pp):
    """Two analysts code the first response differently: a disagreement for the lead's endpoints."""

    first = pp.project.responses.first()
    for user, theme in ((pp.analyst, pp.themes[0]), (pp.analyst2, pp.themes[1])):
        annotation_submit(project=pp.project, user=user, items=[AnnotationItem(first.pk, [theme.pk])])


def discovery_run_make(project):
    """A finished run with two clusters of the fixture's responses (no clustering needed for access checks)."""

    from labeling_app.discovery.models import Cluster, ClusterAction, ClusterAssignment, DiscoveryRun
    from labeling_app.modeling.models import ResponseEmbedding
    from labeling_app.modeling.selectors.embeddings import embedding_model_name
    from ml.embeddings import text_hash

    rng = np.random.default_rng(0)
    for r in project.responses.all():
        v = rng.normal(size=384).astype(np.float32)
        ResponseEmbedding.objects.create(response=r, model_name=embedding_model_name(), text_hash=text_hash(r.text),
                                         vector=(v / np.linalg.norm(v)).tobytes())
    run = DiscoveryRun.objects.create(project=project, status=DiscoveryRun.Status.SUCCEEDED)
    clusters = [Cluster.objects.create(run=run, name=f"c{i}", size=0) for i in range(2)]
    for i, r in enumerate(project.responses.all()):
        ClusterAssignment.objects.create(run=run, response=r, cluster=clusters[0 if i < 2 else 1])
    for c in clusters:
        c.size = c.assignments.count()
        c.save()
    ClusterAction.objects.create(run=run, user=project.memberships.first().user, kind="rename", summary="renamed",
                                 before={"clusters": {str(clusters[0].pk): {"name": "c0"}}})
    return run, clusters


def embedding_runs_done(project) -> None:
    """Run the project's queued embedding runs here as the workers would: the planner, then each chunk."""
    from labeling_app.modeling.models import EmbeddingRun
    from labeling_app.modeling.services.embeddings import embedding_chunk_execute, embedding_run_execute

    for run in EmbeddingRun.objects.filter(project=project, status=EmbeddingRun.Status.PENDING):
        embedding_run_execute(embedding_run_id=run.pk, task_id=f"plan-{run.pk}")
        for chunk in run.chunks.all():
            embedding_chunk_execute(chunk_id=chunk.pk, task_id=f"chunk-{chunk.pk}")
        run.refresh_from_db()
        assert run.status == EmbeddingRun.Status.SUCCEEDED, run.message
