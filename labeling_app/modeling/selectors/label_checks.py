"""Label review ("Check labels"): the human-coded responses whose codes the current version's out-of-fold
probabilities most disagree with (confident learning, `ml.label_review`, ranked at training), less those a lead has
looked at since or that were coded again after the version was trained."""
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Max

from labeling_app.core.db import ids_chunked
from labeling_app.labeling.models import Adjudication, Annotation, LabelCheck
from labeling_app.labeling.selectors.consensus import codings_read, consensus_of
from labeling_app.modeling.models import ModelVersion
from labeling_app.projects.models import Project
from labeling_app.themes.models import Theme


def _latest(rows: dict[int, datetime], pairs: Iterable[tuple[int, datetime]]) -> None:
    for pk, at in pairs:
        if pk not in rows or at > rows[pk]:
            rows[pk] = at


def label_checks_open(*, project: Project, limit: int = 50) -> list[dict]:
    """Up to ``limit`` flags, most suspect first: {response, respondent_id, text, score, given: [themes],
    model: [themes]} (themes as {id, name}); empty before a version has ranked its labels."""
    version = ModelVersion.objects.filter(pk=project.current_model_id or 0).only(
        "pk", "label_issues", "started_at").first()
    if version is None or not version.label_issues:
        return []
    flags = {row["response"]: row for row in version.label_issues}
    ids = list(flags)
    coded: dict[int, datetime] = {}  # the latest coding or lead decision of each flagged response
    checked: dict[int, datetime] = {}  # the latest answer to its flag
    rows: dict[int, tuple[str, str]] = {}
    for chunk in ids_chunked(ids):
        for model, into in ((Annotation, coded), (Adjudication, coded), (LabelCheck, checked)):
            current = {} if model is LabelCheck else {"is_current": True}
            _latest(into, model._default_manager.filter(response_id__in=chunk, **current)
                    .values_list("response_id").annotate(at=Max("created_at")))
        rows.update((pk, (rid, text)) for pk, rid, text in project.responses.filter(pk__in=chunk)
                    .values_list("pk", "respondent_id", "text"))
    resolved = consensus_of(codings_read(project=project, response_ids=ids)).resolved
    themes = {t.pk: t for t in Theme.objects.filter(project=project)}
    order = {t.pk: (t.order, t.pk) for t in themes.values()}

    def named(pks: Iterable[int]) -> list[dict]:
        known = sorted((t for t in pks if t in themes), key=order.__getitem__)
        return [{"id": t, "name": themes[t].name} for t in known]

    out = []
    for pk in ids:
        at = coded.get(pk)
        if pk not in resolved or pk not in rows or at is None:
            continue  # no longer coded by people (or a disagreement now)
        if version.started_at is not None and at > version.started_at:
            continue  # coded again since the version judged it
        if pk in checked and checked[pk] >= at:
            continue  # a lead looked at these very codes
        respondent_id, text = rows[pk]
        out.append({"response": pk, "respondent_id": respondent_id, "text": text, "score": flags[pk]["score"],
                    "given": named(resolved[pk]), "model": named(flags[pk]["model"])})
        if len(out) >= limit:
            break
    return out
