"""Retraining a project's classifier: one run at a time, coalesced, promoted atomically or not at all.

Flow: a labeling change calls `training_request` (after commit it enqueues the task). The task calls
`training_run`, which claims the project's single "training" slot (a conditional unique constraint), fits
`ml.classifier` on every current label, predicts every response, ranks the queue and only then, in one
transaction, stores the suggestions and makes the version current. A run that fails leaves the previous
version current. The version is a job row run by services.job_runs: a redelivered task (same task id), or
any request once the run's worker is lost (stale heartbeat, or the workers' sweep sending it again), takes
over the unfinished version, so one run can never make two versions current; the taken-over run trains on
every label there is by then. Requests that arrive during a live run are picked up by one follow-up run.
A run whose deliveries keep killing their worker is failed after JOB_MAX_ATTEMPTS. Only the model files of
the current and the previous version are kept.
"""
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from labeling_app.jobs.services.runs import (
    job_claim_locked,
    job_fail,
    job_failure_reason,
    job_heartbeat,
    job_running_values,
    job_succeed,
)
from labeling_app.labeling.codings import CODING_LIVE
from labeling_app.labeling.models import Adjudication, Annotation, LabelQueue
from labeling_app.labeling.selectors.consensus import codings_read, consensus_of
from labeling_app.labeling.selectors.sentiment import sentiments_resolved
from labeling_app.modeling.models import ModelVersion, ResponseEmbedding
from labeling_app.modeling.selectors.embeddings import embedding_matrix_read, embedding_model_name, response_texts_read
from labeling_app.modeling.selectors.predictions import Predictions, sentiment_matrix
from labeling_app.modeling.services.autocode import autocode_redecide, queue_order_for_autocodes
from labeling_app.modeling.services.embeddings import embeddings_missing_request
from labeling_app.modeling.services.model_events import model_event_publish
from labeling_app.modeling.services.zero_shot import zero_shot_build
from labeling_app.projects.models import Project
from labeling_app.projects.selectors.waves import response_waves, wave_latest
from labeling_app.projects.services.training_requests import training_request
from labeling_app.themes.models import Theme
from ml import active_learning, autocode, classifier, label_review, novelty, sentiment, sentiment_eval

logger = logging.getLogger(__name__)
ARTIFACT_NAME = re.compile(r"v(\d+)\.joblib")
SEED = 0
#: Label review ranks a version's human-coded responses once there are this many, and keeps its most suspect.
LABEL_REVIEW_MIN = 30
LABEL_ISSUES_KEPT = 300
SENTIMENT_MIN_ROWS = 20  # people's sentiments before the sentiment head is trained (fewer: no suggestions)


@dataclass
class Snapshot:
    themes: list[Theme]
    response_ids: list[int]
    X: np.ndarray
    texts: list[str]
    labelled: np.ndarray  # (n,) bool
    # (n,) bool: labelled by a person (by hand or imported), not only by bulk-accepting suggestions
    human: np.ndarray
    Y: np.ndarray  # (n, k) bool, rows of unlabelled responses are all False
    revision: int
    # (n,) int: people's sentiment (1 .. levels), 0 where none; all 0 when the project codes no sentiment.
    sentiment: np.ndarray | None = None


def _claim(project_id: int, task_id: str) -> ModelVersion | None:
    """Take the project's training slot, or return None when another live run holds it or nothing changed.

    The slot is the project's one "training" version (a conditional unique constraint). A version that is this
    task's own (redelivered) or has lost its worker (stale heartbeat) is taken over by the rules of
    services.job_runs, and then learns from the labels there are now: labels that arrived while it was stuck
    were coalesced into it, and are trained on. A live run coalesces this request: its promotion asks for a
    follow-up when labels arrived meanwhile.
    """
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project_id)
        running = project.model_versions.select_for_update().filter(status=ModelVersion.Status.TRAINING).first()
        if running is not None:
            if not job_claim_locked(running, task_id=task_id):
                return None  # coalesced into a live run, or failed past its attempts
            if running.labels_revision != project.labels_revision:
                running.labels_revision = project.labels_revision
                running.save(update_fields=["labels_revision"])
            return running
        current = project.current_model
        if current is not None and current.labels_revision == project.labels_revision:
            return None  # nothing changed since the current version
        number = (project.model_versions.aggregate(n=Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                return ModelVersion.objects.create(
                    project=project, number=number, labels_revision=project.labels_revision,
                    **job_running_values(task_id=task_id),
                )
        except IntegrityError:
            return None


def _embeddings_wait(project_id: int) -> bool:
    """Queue the project's missing embeddings as their own run (never embedded here); True when this retrain
    must wait for them.

    Meanwhile a retrain goes on with what is embedded, so a bulk import never holds up the model the analysts
    are labelling with; the embedding run, once done, asks for a retrain that covers the new responses too.
    Only when no labelled response is embedded yet is there nothing to learn from: the retrain then waits,
    making no version, and the embedding run's end starts it.
    """
    project = Project.objects.get(pk=project_id)
    if embeddings_missing_request(project=project) is None:
        return False
    embedded = ResponseEmbedding.objects.filter(response=OuterRef("response_id"), model_name=embedding_model_name())
    return not Annotation.objects.filter(response__project=project, is_current=True).filter(Exists(embedded)).exists()


def _anything_coded(project: Project) -> bool:
    return Annotation.objects.filter(CODING_LIVE, response__project=project).exists() or \
        Adjudication.objects.filter(response__project=project, is_current=True).exists()


def _snapshot(project: Project, revision: int) -> Snapshot:
    # Only embedded responses: those still waiting for their embedding run come in the retrain it asks for.
    response_ids, X = embedding_matrix_read(project=project)
    themes = list(project.themes.filter(archived=False).order_by("order", "pk"))
    column = {t.pk: j for j, t in enumerate(themes)}
    row = {pk: i for i, pk in enumerate(response_ids)}
    labelled = np.zeros(len(response_ids), dtype=bool)
    human = np.zeros(len(response_ids), dtype=bool)
    Y = np.zeros((len(response_ids), len(themes)), dtype=bool)
    # The consensus, never the union of coders: unresolved disagreements are left out until a lead decides.
    codings = codings_read(project=project)
    for response_id, theme_ids in consensus_of(codings).resolved.items():
        if response_id in row:
            labelled[row[response_id]] = True
            for theme_id in theme_ids:
                if theme_id in column:
                    Y[row[response_id], column[theme_id]] = True
    # Accepted suggestions agree with the model by construction: they train it but never judge it.
    judged = set(codings.complete) | set(codings.adjudicated) | set(
        Annotation.objects.filter(CODING_LIVE, response__project=project)
        .exclude(source=Annotation.Source.SUGGESTION).values_list("response_id", flat=True))
    for response_id in judged:
        if response_id in row:
            human[row[response_id]] = True
    texts = response_texts_read(project=project, response_ids=response_ids)
    sentiment = np.zeros(len(response_ids), dtype=np.int64)
    if project.sentiment_levels:
        for response_id, level in sentiments_resolved(project=project).items():
            if response_id in row and 1 <= level <= project.sentiment_levels:
                sentiment[row[response_id]] = level
    return Snapshot(themes, response_ids, X, texts, labelled, human, Y, revision, sentiment)


def _sentiment_head(project: Project, snap: Snapshot) -> tuple[np.ndarray | None, dict]:
    """The sentiment head of this retrain (one more head on the same features): every response's level
    probabilities and its out-of-fold quality; (None, {}) while people have given too few sentiments."""
    levels = snap.sentiment if snap.sentiment is not None else np.zeros(0, dtype=np.int64)
    given = np.flatnonzero(levels > 0)
    if not project.sentiment_levels or len(given) < SENTIMENT_MIN_ROWS or len(np.unique(levels[given])) < 2:
        return None, {}
    texts = [snap.texts[i] for i in given]
    model = sentiment.fit_sentiment(snap.X[given], texts, levels[given], n_levels=project.sentiment_levels,
                                    seed=SEED)
    quality = sentiment_eval.sentiment_oof_quality(snap.X[given], texts, levels[given],
                                              n_levels=project.sentiment_levels, seed=SEED)
    return sentiment.sentiment_proba(model, snap.X, snap.texts), quality


def training_run(*, project_id: int, task_id: str) -> ModelVersion | None:
    """Run one retrain of a project (see the module docstring); returns the version made, if any."""
    if _embeddings_wait(project_id):
        return None
    project = Project.objects.get(pk=project_id)
    if project.current_model_id is None and not _anything_coded(project):
        # Nothing to learn from yet: the Label page suggests from the theme names meanwhile.
        zero_shot_build(project=project)
        return None
    version = _claim(project_id, task_id)
    if version is None:
        return None
    with job_heartbeat(version, task_id=task_id):
        return _training_run(version, task_id=task_id)


def _training_run(version: ModelVersion, *, task_id: str) -> ModelVersion:
    project = version.project
    project_id = project.pk
    started = time.monotonic()
    try:
        snap = _snapshot(project, version.labels_revision)
        if not snap.labelled.any():
            raise ValueError("there are no labelled responses to learn from yet")
        L = snap.labelled
        keys = np.asarray(snap.response_ids, dtype=np.int64)
        # The quality estimate is judged on labels that form a random sample of the responses (mostly the
        # queue's random exploration share): actively chosen rows are harder than typical ones.
        explored = active_learning.explored_mask(L, keys=keys, seed=SEED)
        clf = classifier.fit_classifier(
            snap.X[L], snap.Y[L], texts=[t for t, keep in zip(snap.texts, L, strict=True) if keep],
            seed=SEED, theme_ids=[t.pk for t in snap.themes], evaluate_mask=snap.human[L], eval_mask=explored[L],
            keep_oof=True,
        )
        gate, issues = _oof_uses(clf, snap)
        scores = classifier.predict_scores(clf, snap.X, snap.texts)
        probas = classifier.calibrate_scores(clf, scores)  # what analysts see, as percentages
        # Active learning ranks on the raw scores it was tuned on (calibration would flatten rare themes).
        # The same call as bench/label_efficiency.py makes: what is measured there is what is served here.
        order = active_learning.plan_queue(
            snap.X, scores, L, strategy=project.active_learning_strategy, seed=SEED,
            theme_support=snap.Y[L].sum(axis=0), thresholds=clf.score_thresholds, keys=keys,
        )
        order = _new_wave_first(project, snap, order, probas)
        sentiment_probas, sentiment_quality = _sentiment_head(project, snap)
        artifact = _artifact_save(project, version, clf)
    except Exception as exc:
        logger.exception("retrain of project %s failed", project_id)
        job_fail(version, job_failure_reason(exc, f"{type(exc).__name__}: {exc}"), task_id=task_id)
        return version
    quality = clf.quality
    _promote(
        version,
        task_id=task_id,
        queue=[snap.response_ids[i] for i in order],
        fields={
            "response_ids": np.asarray(snap.response_ids, dtype=np.int64).tobytes(),
            "probabilities": probas.astype(np.float16).tobytes(),
            "theme_ids": [t.pk for t in snap.themes],
            "thresholds": [float(t) for t in clf.thresholds],
            "gate_correction": gate,
            "label_issues": issues,
            "sentiment_probabilities": b"" if sentiment_probas is None else
            sentiment_probas.astype(np.float16).tobytes(),
            "sentiment_quality": sentiment_quality,
            "labelled_responses": int(L.sum()),
            "labels_used": int(snap.Y.sum()),
            "micro_f1": quality.micro_f1 if quality else None,
            "macro_f1": quality.macro_f1 if quality else None,
            "quality_interval": _interval(quality),
            "per_theme": _per_theme(quality, snap.themes),
            "artifact": artifact,
            "train_seconds": round(time.monotonic() - started, 3),
        },
    )
    return version


def _new_wave_first(project: Project, snap: Snapshot, planned: list[int], probas: np.ndarray) -> list[int]:
    """With a new wave, its uncoded answers lead the queue: mixed by how unsure the model is of them (their place
    in the active-learning order) and how unlike anything coded they are (ml.novelty); the rest follow as
    planned."""
    latest = wave_latest(waves=(waves := response_waves(project=project)))
    if latest is None:
        return planned
    order = np.asarray(planned, dtype=np.int64)
    fresh = np.array([waves.get(snap.response_ids[i]) == latest and not snap.labelled[i] for i in order], dtype=bool)
    if not fresh.any() or not snap.labelled.any():
        return planned
    rows = order[fresh]
    useful = -np.flatnonzero(fresh).astype(np.float64)  # earlier in the planned order = more useful
    new = novelty.novelty_scores(snap.X[rows], snap.X[snap.labelled], probas[rows])
    return np.concatenate([rows[novelty.wave_queue_rank(useful, new)], order[~fresh]]).tolist()


def _oof_uses(clf: classifier.ThemeClassifier, snap: Snapshot) -> tuple[dict, list[dict]]:
    """What this version's out-of-fold probabilities tell, then dropped (the model file does not keep them): the
    auto-code gate's correction, and the human-coded responses whose codes they most disagree with (label review,
    confident learning; accepted suggestions agree with the model by construction and are not judged)."""
    oof, clf.oof = clf.oof, None
    if oof is None:
        return {}, []
    L = np.flatnonzero(snap.labelled)
    Y = snap.Y[L]
    correction = autocode.fit_gate_correction(oof, Y, clf.thresholds)
    gate = {"fp_scale": correction.fp_scale, "fn_scale": correction.fn_scale, "rows": correction.rows}
    judged = np.flatnonzero(snap.human[L])
    if len(judged) < LABEL_REVIEW_MIN:
        return gate, []
    rows, scores = label_review.label_issues(Y[judged], oof[judged])
    theme_ids = [t.pk for t in snap.themes]
    predicted = oof[judged] >= clf.thresholds[None, :]
    issues = [{"response": snap.response_ids[L[judged[i]]], "score": round(float(score), 4),
               "model": [theme_ids[j] for j in np.flatnonzero(predicted[i])]}
              for i, score in zip(rows[:LABEL_ISSUES_KEPT], scores[:LABEL_ISSUES_KEPT], strict=True)]
    return gate, issues


def _interval(quality: classifier.QualityReport | None) -> dict:
    if quality is None or quality.micro_ci is None or quality.macro_ci is None:
        return {}
    return {"micro": [round(v, 4) for v in quality.micro_ci], "macro": [round(v, 4) for v in quality.macro_ci],
            "level": classifier.QUALITY_LEVEL, "rows": quality.n_scored}


def _per_theme(quality: classifier.QualityReport | None, themes: list[Theme]) -> list[dict]:
    if quality is None:
        return []
    names = {t.pk: t.name for t in themes}
    return [{**row, "theme_name": names.get(row["theme"], "")} for row in quality.per_theme]


def _artifact_save(project: Project, version: ModelVersion, clf: classifier.ThemeClassifier) -> str:
    # Written and read by the app only; never a user upload.
    folder = Path(settings.MEDIA_ROOT) / "models" / f"project-{project.pk}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"v{version.number}.joblib"
    # Written whole or not at all: a worker killed mid-dump must not leave a truncated model file behind.
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    joblib.dump(clf, partial)
    os.replace(partial, path)
    return str(path.relative_to(settings.MEDIA_ROOT))


def _artifacts_prune(project_id: int, *, keep_from: int) -> None:
    """Delete the model files of versions numbered below keep_from (the current and previous are kept).

    Newer files are left alone: a later run may be writing its own while this one is promoted.
    """
    folder = Path(settings.MEDIA_ROOT) / "models" / f"project-{project_id}"
    try:
        for path in folder.glob("v*.joblib"):
            if (match := ARTIFACT_NAME.fullmatch(path.name)) and int(match.group(1)) < keep_from:
                path.unlink(missing_ok=True)
    except OSError:
        # Runs after the promotion committed: a file left behind must not make the retrain look failed.
        logger.exception("could not delete old model files of project %s", project_id)
        return
    ModelVersion.objects.filter(project_id=project_id, number__lt=keep_from).exclude(artifact="").update(artifact="")


def _stored_predictions(fields: dict) -> Predictions | None:
    """The predictions as the version stores them (float16 probabilities), from its promotion's fields."""
    if not fields.get("response_ids"):
        return None
    ids = np.frombuffer(fields["response_ids"], dtype=np.int64)
    probabilities = np.frombuffer(fields["probabilities"], dtype=np.float16).reshape(len(ids), -1)
    return Predictions(ids, list(fields["theme_ids"]), probabilities.astype(np.float32),
                       np.asarray(fields["thresholds"], dtype=np.float64), fields.get("gate_correction") or None,
                       sentiment_matrix(fields.get("sentiment_probabilities") or b"", len(ids)))


def _promote(version: ModelVersion, *, task_id: str, queue: list[int], fields: dict) -> None:
    with transaction.atomic():
        # The project first, then the version: the order the training slot's claim takes them in (the other
        # order deadlocked a promotion against a claim of the same project).
        project = Project.objects.select_for_update().get(pk=version.project_id)
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != ModelVersion.Status.TRAINING or locked.task_id != task_id:
            logger.warning("v%s of project %s was finished or taken over by another delivery; this one is dropped",
                           version.number, version.project_id)
            return
        previous = project.current_model
        job_succeed(version, task_id=task_id, made_current_at=timezone.now(), **fields)
        project.current_model = version
        project.save(update_fields=["current_model"])
        # The model's codes are decided again by the new version (its predictions as stored and shown), and
        # the queue leaves out what it codes.
        autocode_redecide(project=project, predictions=lambda: _stored_predictions(fields),
                          model_number=version.number, model_version_id=version.pk)
        LabelQueue.objects.update_or_create(
            project=project,
            defaults={"response_ids": queue_order_for_autocodes(project=project, order=queue), "model_version": version,
                      "strategy": project.active_learning_strategy},
        )
        if previous is not None:
            # Keep the figures of old versions but only the latest two prediction matrices.
            transaction.on_commit(lambda: ModelVersion.objects.filter(
                project_id=project.pk, number__lt=previous.number).exclude(probabilities=b"").update(
                probabilities=b"", response_ids=b"", sentiment_probabilities=b""))
            transaction.on_commit(lambda: _artifacts_prune(project.pk, keep_from=previous.number))
        transaction.on_commit(lambda: model_event_publish(version=version))
        if project.labels_revision > version.labels_revision:
            training_request(project=project)  # labels arrived during this run
