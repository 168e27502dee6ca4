"""Retraining in-process: versions, suggestions, queue, guards and failures (the worker tests cover Celery)."""
import numpy as np
import pytest
from django.utils import timezone

from labeling_app.labeling.models import LabelQueue
from labeling_app.labeling.services.annotations import AnnotationItem, annotation_submit
from labeling_app.labeling.services.queue import queue_batch_lease
from labeling_app.modeling.models import ModelVersion
from labeling_app.modeling.selectors.predictions import predictions_current, predictions_of, suggestions_band
from labeling_app.modeling.services.training import training_run
from labeling_app.projects.models import Role
from tests.conftest import demo_project_make
from tests.factories import UserFactory
from tests.scenarios import embedding_runs_done

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(analyst, demo_vectors):
    return demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=120)


def test_a_retrain_makes_a_current_version_with_suggestions_and_a_queue(demo):
    version = training_run(project_id=demo.pk, task_id="t1")
    demo.refresh_from_db()
    assert version.status == ModelVersion.Status.READY, version.error
    assert demo.current_model == version and version.number == 1
    assert version.labelled_responses == 120
    assert 0 < version.micro_f1 <= 1 and 0 <= version.macro_f1 <= 1
    # the estimate comes with its interval, around it, on the rows it was scored on
    interval = version.quality_interval
    assert interval["micro"][0] <= version.micro_f1 <= interval["micro"][1]
    assert interval["macro"][0] <= version.macro_f1 <= interval["macro"][1]
    assert interval["micro"][0] < interval["micro"][1] and 0 < interval["rows"] <= 120
    assert {row["theme_name"] for row in version.per_theme} == set(demo.themes.values_list("name", flat=True))
    predictions = predictions_of(version=version)
    assert predictions.probabilities.shape == (demo.responses.count(), demo.themes.count())
    assert (predictions.probabilities >= predictions.thresholds).any()
    queue = LabelQueue.objects.get(project=demo).response_ids
    labelled = set(demo.responses.filter(annotations__is_current=True).values_list("pk", flat=True))
    assert len(queue) == demo.responses.count() - 120 and not labelled & set(queue)
    # Nothing changed since: a second request does not train again.
    assert training_run(project_id=demo.pk, task_id="t2") is None


def test_a_running_retrain_coalesces_others_and_a_redelivery_takes_over_its_own(demo):
    running = ModelVersion.objects.create(project=demo, number=1, task_id="first", labels_revision=0,
                                          heartbeat_at=timezone.now())
    assert training_run(project_id=demo.pk, task_id="second") is None  # coalesced into the running one
    version = training_run(project_id=demo.pk, task_id="first")  # the same task, redelivered
    assert version.pk == running.pk and version.status == ModelVersion.Status.READY
    assert ModelVersion.objects.filter(project=demo).count() == 1


def test_a_dead_run_is_taken_over_and_learns_every_label_there_is_now(demo):
    dead = ModelVersion.objects.create(project=demo, number=1, task_id="lost", labels_revision=0, attempts=1,
                                       heartbeat_at=timezone.now() - timezone.timedelta(hours=1))
    demo.refresh_from_db()
    assert demo.labels_revision > 0  # labels came after the run that died had started
    version = training_run(project_id=demo.pk, task_id="new")
    assert version.pk == dead.pk and version.status == ModelVersion.Status.READY and version.message == ""
    assert version.task_id == "new" and version.attempts == 2  # one more delivery of the same run
    assert version.labels_revision == demo.labels_revision and version.labelled_responses == 120
    assert ModelVersion.objects.filter(project=demo).count() == 1


def test_a_failed_retrain_keeps_the_previous_version_and_says_why(demo, analyst, settings, tmp_path):
    first = training_run(project_id=demo.pk, task_id="t1")
    media = settings.MEDIA_ROOT
    # New labels, and a media folder the model file cannot be written to (a full or read-only disk).
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    settings.MEDIA_ROOT = str(blocked)
    response = demo.responses.filter(annotations__isnull=True).order_by("pk").first()
    annotation_submit(project=demo, user=analyst, items=[AnnotationItem(response.pk, [demo.themes.first().pk])])
    failed = training_run(project_id=demo.pk, task_id="t2")
    demo.refresh_from_db()
    assert failed.status == ModelVersion.Status.FAILED
    assert "not-a-folder" in failed.error
    assert demo.current_model == first
    assert predictions_current(project=demo) == predictions_of(version=first) is not None
    settings.MEDIA_ROOT = media
    recovered = training_run(project_id=demo.pk, task_id="t3")
    demo.refresh_from_db()
    assert recovered.status == ModelVersion.Status.READY and demo.current_model == recovered


def test_one_labelled_theme_does_not_crash_and_others_need_more_examples(analyst, demo_vectors):
    project = demo_project_make({analyst: Role.ANALYST}, demo_vectors, keep_labels=0)
    themes = list(project.themes.all())
    responses = list(project.responses.all()[:12])
    items = [AnnotationItem(r.pk, [themes[0].pk] if i % 2 else []) for i, r in enumerate(responses)]
    annotation_submit(project=project, user=analyst, items=items)
    version = training_run(project_id=project.pk, task_id="one")
    assert version.status == ModelVersion.Status.READY, version.error
    needs = {row["theme_name"] for row in version.per_theme if row["needs_more_examples"]}
    assert needs == {t.name for t in themes[1:]}
    predictions = predictions_of(version=version)
    columns = np.flatnonzero((predictions.probabilities >= predictions.thresholds).any(axis=0))
    assert {predictions.theme_ids[j] for j in columns} <= {themes[0].pk}


def test_suggestions_never_go_to_archived_themes(demo):
    training_run(project_id=demo.pk, task_id="t1")
    demo.refresh_from_db()
    theme = demo.themes.order_by("order").first()
    assert suggestions_band(project=demo, theme_id=theme.pk, min_probability=0, max_probability=1)
    theme.archived = True
    theme.shortcut = ""
    theme.save()
    assert not suggestions_band(project=demo, theme_id=theme.pk, min_probability=0, max_probability=1)
    demo.labels_revision += 1
    demo.save()
    version = training_run(project_id=demo.pk, task_id="t2")
    assert theme.pk not in version.theme_ids
    assert theme.pk not in [row["theme"] for row in version.per_theme]


def test_two_analysts_get_different_responses_and_coded_ones_are_not_served_again(demo, analyst):
    training_run(project_id=demo.pk, task_id="t1")
    other = UserFactory(username="other-analyst")
    first = queue_batch_lease(project=demo, user=analyst, size=5)
    second = queue_batch_lease(project=demo, user=other, size=5)
    assert len(first) == len(second) == 5
    assert not {r.pk for r in first} & {r.pk for r in second}
    assert [r.pk for r in queue_batch_lease(project=demo, user=analyst, size=5)] == [r.pk for r in first]
    annotation_submit(project=demo, user=analyst, items=[AnnotationItem(r.pk, []) for r in first])
    again = queue_batch_lease(project=demo, user=analyst, size=5)
    assert not {r.pk for r in again} & {r.pk for r in first}
    # The queue is the model's order: the first batch is its head, minus what others hold.
    head = LabelQueue.objects.get(project=demo).response_ids[:5]
    assert [r.pk for r in first] == head


def test_annotation_submit_is_all_or_nothing(demo, analyst):
    from django.core.exceptions import ValidationError

    from labeling_app.labeling.models import Annotation

    response = demo.responses.filter(annotations__isnull=True).first()
    before = Annotation.objects.count()
    with pytest.raises(ValidationError, match="is not in this project"):
        annotation_submit(project=demo, user=analyst, items=[
            AnnotationItem(response.pk, [demo.themes.first().pk]), AnnotationItem(response.pk + 10**6, [])])
    assert Annotation.objects.count() == before


def test_bulk_accept_labels_as_the_analyst_and_reject_hides(demo, analyst):
    from labeling_app.labeling.models import Annotation
    from labeling_app.labeling.services.suggestions import suggestions_accept, suggestions_reject

    training_run(project_id=demo.pk, task_id="t1")
    demo.refresh_from_db()
    theme, other = list(demo.themes.order_by("order"))[:2]
    band = suggestions_band(project=demo, theme_id=theme.pk, min_probability=0.5, max_probability=1)
    count = len(band)
    assert count > 0
    assert suggestions_accept(project=demo, user=analyst, theme=theme,
                              response_ids=[r["response"] for r in band]) == count
    made = Annotation.objects.filter(coder=analyst, is_current=True)
    assert sorted(made.values_list("response_id", flat=True)) == sorted(r["response"] for r in band)
    assert all(list(a.themes.values_list("pk", flat=True)) == [theme.pk] for a in made)
    assert set(made.values_list("source", flat=True)) == {Annotation.Source.SUGGESTION}
    # Rejected suggestions are not offered to that analyst again.
    shown = suggestions_band(project=demo, theme_id=other.pk, min_probability=0.2, max_probability=1,
                             exclude_rejected_by=analyst.pk)
    assert suggestions_reject(project=demo, user=analyst, theme=other,
                              response_ids=[r["response"] for r in shown]) == len(shown)
    assert not suggestions_band(project=demo, theme_id=other.pk, min_probability=0.2, max_probability=1,
                                exclude_rejected_by=analyst.pk)


def _labels_changed(project) -> None:
    from django.db.models import F

    type(project).objects.filter(pk=project.pk).update(labels_revision=F("labels_revision") + 1)


def test_a_long_retrain_keeps_its_slot_by_its_heartbeat(transactional_db, demo_vectors, settings, monkeypatch):
    import threading
    import time

    from labeling_app.modeling.services import training

    # A run silent this long could be taken over; 20 beats per period, as a loaded machine may delay a few.
    settings.JOB_STALE_AFTER_SECONDS = 2
    settings.JOB_HEARTBEAT_SECONDS = 0.1
    project = demo_project_make({UserFactory(username="hb-analyst"): Role.ANALYST}, demo_vectors, keep_labels=120)
    # A fit of some seconds, far past the limit, as on a large project (retrains never embed any more).
    real_fit = training.classifier.fit_classifier

    def slow_fit(*args, **kwargs):
        time.sleep(3)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(training.classifier, "fit_classifier", slow_fit)
    made: list = []
    first = threading.Thread(target=lambda: made.append(training_run(project_id=project.pk, task_id="long")))
    first.start()
    checks = 0
    try:
        deadline = time.monotonic() + 30
        while not (running := ModelVersion.objects.filter(project=project, task_id="long").first()):
            assert time.monotonic() < deadline, "the retrain never started"
            time.sleep(0.005)
        while True:
            time.sleep(2.5)  # past the stale limit since the claim or the last check
            running.refresh_from_db()
            if running.status != ModelVersion.Status.TRAINING:
                break
            assert training_run(project_id=project.pk, task_id=f"second-{checks}") is None  # coalesced
            checks += 1
    finally:
        first.join()
    assert checks >= 1, "the run ended before the test could check that it kept its slot"
    assert made[0].pk == running.pk and made[0].status == ModelVersion.Status.READY, made[0].error
    assert list(ModelVersion.objects.filter(project=project).values_list("task_id", flat=True)) == ["long"]


def test_a_run_redelivered_past_the_attempt_limit_is_failed_with_the_reason(demo, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    lost = ModelVersion.objects.create(project=demo, number=1, task_id="killer", labels_revision=0, attempts=2)
    assert training_run(project_id=demo.pk, task_id="killer").status == ModelVersion.Status.READY  # the 3rd
    _labels_changed(demo)
    lost = ModelVersion.objects.create(project=demo, number=2, task_id="killer2", labels_revision=1, attempts=3)
    assert training_run(project_id=demo.pk, task_id="killer2") is None  # the 4th delivery does not run
    lost.refresh_from_db()
    assert lost.status == ModelVersion.Status.FAILED and lost.attempts == 4
    assert lost.error.startswith("stopped after 3 attempts: each time the worker running it was lost")
    demo.refresh_from_db()
    assert demo.current_model.number == 1


def test_only_the_current_and_previous_model_files_are_kept(demo, settings, django_capture_on_commit_callbacks):
    from pathlib import Path

    versions = []
    for n in range(4):
        if n:
            _labels_changed(demo)
        with django_capture_on_commit_callbacks(execute=True):  # files go once the promotion commits
            versions.append(training_run(project_id=demo.pk, task_id=f"t{n}"))
    folder = Path(settings.MEDIA_ROOT) / "models" / f"project-{demo.pk}"
    assert sorted(p.name for p in folder.iterdir()) == ["v3.joblib", "v4.joblib"]
    for version in versions:
        version.refresh_from_db()
    assert [bool(v.artifact) for v in versions] == [False, False, True, True]
    assert all((Path(settings.MEDIA_ROOT) / v.artifact).is_file() for v in versions[2:])


def test_accepted_suggestions_train_the_model_but_are_not_scored(demo, analyst):
    from labeling_app.labeling.services.suggestions import suggestions_accept

    first = training_run(project_id=demo.pk, task_id="t1")
    demo.refresh_from_db()
    theme = max(demo.themes.all(), key=lambda t: len(suggestions_band(
        project=demo, theme_id=t.pk, min_probability=0.5, max_probability=1)))
    band = suggestions_band(project=demo, theme_id=theme.pk, min_probability=0.5, max_probability=1)
    accepted = suggestions_accept(project=demo, user=analyst, theme=theme, response_ids=[r["response"] for r in band])
    assert accepted > 0
    second = training_run(project_id=demo.pk, task_id="t2")
    assert second.status == ModelVersion.Status.READY, second.error
    # trained on them ...
    assert second.labelled_responses == first.labelled_responses + accepted
    # ... but the quality estimate is computed on the people's labels only, which did not change
    support = {row["theme"]: row["support"] for row in second.per_theme}
    assert support == {row["theme"]: row["support"] for row in first.per_theme}
    assert (second.micro_f1, second.macro_f1) != (None, None)


def test_stored_probabilities_are_calibrated_and_thresholds_in_their_scale(demo):
    version = training_run(project_id=demo.pk, task_id="t1")
    predictions = predictions_of(version=version)
    P = predictions.probabilities.astype(np.float64)
    labelled = demo.responses.filter(annotations__is_current=True).count()
    # class-balanced raw scores would put the average far above how often themes apply
    labels_per_response = version.labels_used / labelled
    assert P.mean() * P.shape[1] == pytest.approx(labels_per_response, rel=0.5)
    thresholds = np.asarray(predictions.thresholds)
    trained = thresholds <= 1
    assert trained.any() and (thresholds[trained] > 0).all()
    assert {row["threshold"] for row in version.per_theme if row["threshold"] is not None} <= set(thresholds)


def test_the_app_serves_and_estimates_exactly_what_the_label_efficiency_bench_measures(demo, analyst, settings):
    """Selector parity: for the same state and seed the bench's batch is the head of the app's queue, the first
    batch an analyst is served, and the bench's Model-page estimate is the one the app stores."""
    from pathlib import Path

    import joblib

    from bench.label_efficiency import app_fit, next_batch
    from labeling_app.modeling.services.training import SEED, _snapshot
    from ml.classifier import predict_scores

    version = training_run(project_id=demo.pk, task_id="t1")
    assert version.status == ModelVersion.Status.READY, version.error
    snap = _snapshot(demo, version.labels_revision)
    clf = joblib.load(Path(settings.MEDIA_ROOT) / version.artifact)
    keys = np.asarray(snap.response_ids)
    everyone = np.arange(len(keys))
    batch = next_batch(snap.X, snap.Y, clf, predict_scores(clf, snap.X, snap.texts), snap.labelled, everyone, 50,
                       strategy=demo.active_learning_strategy, seed=SEED, keys=keys)
    queue = LabelQueue.objects.get(project=demo).response_ids
    assert [snap.response_ids[i] for i in batch] == queue[:50]
    served = queue_batch_lease(project=demo, user=analyst, size=10)
    assert [r.pk for r in served] == queue[:10]
    bench = app_fit(snap.X, snap.Y, snap.texts, snap.labelled, everyone, SEED, keys=keys).quality
    assert (bench.micro_f1, bench.macro_f1) == (version.micro_f1, version.macro_f1)


def _embedded_project(n: int, seed: int):
    """A project of n responses with stored (random) embeddings and no labels."""
    from labeling_app.modeling.models import ResponseEmbedding
    from labeling_app.modeling.selectors.embeddings import embedding_model_name
    from tests.factories import ProjectFactory, ResponseFactory

    project = ProjectFactory()
    vectors = np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)
    ResponseEmbedding.objects.bulk_create(
        [ResponseEmbedding(response=r, model_name=embedding_model_name(), text_hash="x", vector=v.tobytes())
         for r, v in zip(ResponseFactory.create_batch(n, project=project), vectors, strict=True)])
    return project


def test_the_cold_start_queue_takes_as_many_queries_for_many_responses_as_for_few():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from labeling_app.modeling.services.embeddings import cold_start_queue_build

    counts = []
    for n in (60, 600):
        project = _embedded_project(n, seed=n)
        with CaptureQueriesContext(connection) as queries:
            queue = cold_start_queue_build(project=project)
        counts.append(len(queries))
        ids = sorted(project.responses.values_list("pk", flat=True))
        assert queue is not None and queue.strategy == "cold_start"
        assert sorted(queue.response_ids) == ids  # every response once
    assert counts[0] == counts[1], f"{counts[0]} queries for 60 responses, {counts[1]} for 600"




def test_a_retrain_never_embeds_it_learns_from_what_is_embedded_and_the_embedding_run_asks_for_the_rest(
        demo, analyst):
    from labeling_app.jobs.models import OutboxJob
    from labeling_app.modeling.models import EmbeddingRun, ResponseEmbedding
    from tests.factories import ResponseFactory

    first = training_run(project_id=demo.pk, task_id="t1")
    EmbeddingRun.objects.filter(project=demo).update(status="succeeded")  # the setup's import: vectors stored
    new = ResponseFactory.create_batch(4, project=demo)  # imported since: no embeddings yet
    theme = demo.themes.order_by("order").first()
    labelled = [new[0].pk, demo.responses.filter(annotations__isnull=True).exclude(
        pk__in=[r.pk for r in new]).order_by("pk").first().pk]
    annotation_submit(project=demo, user=analyst, items=[AnnotationItem(pk, [theme.pk]) for pk in labelled])
    OutboxJob.objects.all().delete()

    # The analysts' labels are learnt now, without waiting for the new answers to be embedded...
    second = training_run(project_id=demo.pk, task_id="t2")
    assert second.status == ModelVersion.Status.READY and second.labelled_responses == first.labelled_responses + 1
    assert not ResponseEmbedding.objects.filter(response__in=new).exists()  # nothing was embedded inline
    assert len(predictions_of(version=second).response_ids) == demo.responses.count() - 4
    # ... and the missing embeddings were queued as an embedding run of their own.
    run = EmbeddingRun.objects.get(project=demo, status=EmbeddingRun.Status.PENDING)
    assert [r.kwargs for r in OutboxJob.objects.filter(task__endswith="embeddings_compute")] == [
        {"embedding_run_id": run.pk}]
    assert training_run(project_id=demo.pk, task_id="t3") is None  # up to date: the run is not queued twice
    assert EmbeddingRun.objects.filter(project=demo, status="pending").count() == 1

    embedding_runs_done(demo)  # its end asks for the follow-up retrain, which covers the new answers
    assert OutboxJob.objects.filter(task__endswith="training.retrain").exists()
    third = training_run(project_id=demo.pk, task_id="t4")
    assert third.status == ModelVersion.Status.READY
    assert third.labelled_responses == first.labelled_responses + 2
    assert len(predictions_of(version=third).response_ids) == demo.responses.count()


def test_a_retrain_with_no_labelled_answer_embedded_waits_for_the_embedding_run(demo):
    from labeling_app.jobs.models import OutboxJob
    from labeling_app.labeling.models import Annotation
    from labeling_app.modeling.models import EmbeddingRun, ResponseEmbedding

    labelled = Annotation.objects.filter(response__project=demo, is_current=True).values_list("response_id")
    ResponseEmbedding.objects.filter(response_id__in=labelled).delete()  # e.g. a coded file just imported
    assert training_run(project_id=demo.pk, task_id="early") is None  # nothing to learn from yet: it waits
    assert not ModelVersion.objects.filter(project=demo).exists()  # no failed version to explain
    assert EmbeddingRun.objects.filter(project=demo, status=EmbeddingRun.Status.PENDING).count() == 1
    OutboxJob.objects.all().delete()
    embedding_runs_done(demo)
    assert OutboxJob.objects.filter(task__endswith="training.retrain").exists()  # the run starts the retrain
    version = training_run(project_id=demo.pk, task_id="after")
    assert version.status == ModelVersion.Status.READY and version.labelled_responses == 120


def test_a_promotion_and_a_slot_claim_of_one_project_at_once_do_not_deadlock(transactional_db, demo_vectors):
    """The claim locks the project, then its training version; a promotion must take them in that order too
    (it took the version first, and the two deadlocked on PostgreSQL)."""
    import threading
    import time

    from django.db import connection, transaction

    from labeling_app.jobs.services.runs import job_running_values
    from labeling_app.modeling.services.training import _promote
    from labeling_app.projects.models import Project

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises all writers: lock order only matters on PostgreSQL")
    project = demo_project_make({UserFactory(): Role.ANALYST}, demo_vectors, keep_labels=0)
    version = ModelVersion.objects.create(project=project, number=1, labels_revision=project.labels_revision,
                                          **job_running_values(task_id="t"))
    errors: list[BaseException] = []

    def promote() -> None:
        try:
            _promote(version, task_id="t", queue=[], fields={})
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    promoter = threading.Thread(target=promote)
    with transaction.atomic():
        Project.objects.select_for_update().get(pk=project.pk)  # the claim's first lock ...
        promoter.start()
        time.sleep(1)  # ... the promotion starts meanwhile and takes whatever it takes first ...
        ModelVersion.objects.select_for_update().get(pk=version.pk)  # ... then the claim's second
    promoter.join(timeout=30)
    assert not errors, errors
    project.refresh_from_db()
    assert project.current_model_id == version.pk
