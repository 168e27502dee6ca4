"""Label review ("Check labels"): the human-coded responses whose codes the current version's out-of-fold
probabilities most disagree with (confident learning, `ml.label_review`, ranked at training), less those a lead has
looked at since or that were coded again after the version was trained."""
from django.db.models import Max

from labeling_app.core.db import ids_chunked
from labeling_app.labeling.models import Adjudication, Annotation, LabelCheck
from labeling_app.labeling.selectors.consensus import codings_read, consensus_of
from labeling_app.modeling.models import ModelVersion
from labeling_app.projects.models import Project
from labeling_app.themes.models import Theme


def _latest(rows: dict[int, object], pairs: list[tuple[int, object]]) -> None:
    for pk, at in pairs:
        if pk not in rows or at > rows[pk]:  # type: ignore[operator]
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
    coded: dict[int, object] = {}
    checked: dict[int, object] = {}
    for chunk in ids_chunked(ids):
        _latest(coded, list(Annotation.objects.filter(response_id__in=chunk, is_current=True)
                            .values_list("response_id").annotate(at=Max("created_at"))))
        _latest(coded, list(Adjudication.objects.filter(response_id__in=chunk, is_current=True)
                            .values_list("response_id").annotate(at=Max("created_at"))))
        _latest(checked, list(LabelCheck.objects.filter(response_id__in=chunk)
                              .values_list("response_id").annotate(at=Max("created_at"))))
    trained_at = version.started_at
    resolved = consensus_of(codings_read(project=project, response_ids=ids)).resolved
    themes = {t.pk: t for t in Theme.objects.filter(project=project)}
    order = {t.pk: (t.order, t.pk) for t in themes.values()}
    texts = dict(project.responses.filter(pk__in=ids[:5000]).values_list("pk", "text"))
    respondents = dict(project.responses.filter(pk__in=ids[:5000]).values_list("pk", "respondent_id"))

    def named(pks: object) -> list[dict]:
        return [{"id": t, "name": themes[t].name} for t in sorted(pks, key=order.__getitem__)  # type: ignore[call-overload]
                if t in themes]

    out = []
    for pk in ids:
        at = coded.get(pk)
        if pk not in resolved or pk not in texts or at is None:
            continue  # no longer coded by people (or a disagreement now)
        if trained_at is not None and at > trained_at:  # type: ignore[operator]
            continue  # coded again since the version judged it
        if pk in checked and checked[pk] >= at:  # type: ignore[operator]
            continue  # a lead looked at these very codes
        out.append({"response": pk, "respondent_id": respondents[pk], "text": texts[pk],
                    "score": flags[pk]["score"], "given": named(resolved[pk]), "model": named(flags[pk]["model"])})
        if len(out) >= limit:
            break
    return out
