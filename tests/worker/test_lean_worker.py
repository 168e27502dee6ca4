"""Lean workers (issue 26): a Celery worker that embeds with ONNX Runtime and retrains never loads PyTorch.

The worker's processes are inspected from outside (their memory maps), so the worker runs exactly as in
production: a torch import anywhere on start-up, an embedding job or a retrain maps torch's libraries.
sentence-transformers and transformers' models need torch, so no torch means neither of them either."""
import os
import time

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from labeling_app.importing.services import import_file_run
from labeling_app.modeling.models import EmbeddingRun, ModelVersion
from labeling_app.projects.models import Project
from tests.conftest import DEMO_FILE, worker_start, worker_stop
from tests.factories import ProjectFactory

pytestmark = pytest.mark.worker


def _torch_libraries(proc: psutil.Process) -> list[str]:
    """The files of torch mapped into a worker's main process and its pool processes."""
    found = set()
    for p in [proc, *proc.children(recursive=True)]:
        for region in p.memory_maps(grouped=True):
            if "torch" in region.path.lower():
                found.add(f"{p.pid}: {region.path}")
    return sorted(found)


def _trained(project: Project, timeout: float = 240) -> ModelVersion:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        project.refresh_from_db()
        if project.current_model is not None:
            return project.current_model
        failed = project.model_versions.filter(status=ModelVersion.Status.FAILED).first()
        assert failed is None, failed.error
        time.sleep(0.2)
    pytest.fail(f"no model after {timeout:.0f} s: {list(project.embedding_runs.values('status', 'message'))}")


def test_a_worker_embeds_and_retrains_with_onnx_without_loading_torch(transactional_db, settings, demo_vectors):
    # demo_vectors loaded the app's model in this process: its ONNX export is cached before the worker starts.
    proc = worker_start(settings, queues="embeddings,training", name=f"lean-{os.getpid()}",
                        env={"EMBEDDING_THREADS": "1"})
    try:
        worker = psutil.Process(proc.pid)
        assert not _torch_libraries(worker)  # start-up: the task modules and what they import
        project = ProjectFactory(name="Lean worker")
        job = import_file_run(project=project, user=None, upload=SimpleUploadedFile("demo.csv",
                                                                                    DEMO_FILE.read_bytes()))
        assert job.status == "succeeded", job.message
        version = _trained(project)  # the import's embedding run, then the retrain its end asked for
        assert project.embedding_runs.filter(status=EmbeddingRun.Status.SUCCEEDED).exists()
        assert version.status == ModelVersion.Status.READY
        assert not _torch_libraries(worker)
    finally:
        worker_stop(proc)
