"""People's sentiment of each response: the coders' levels, resolved to one."""
from collections import defaultdict

from labeling_app.labeling.codings import CODING_COUNTS
from labeling_app.labeling.models import Annotation
from labeling_app.projects.models import Project

SENTIMENT_NAMES = {
    5: {1: "very positive", 2: "positive", 3: "neutral", 4: "negative", 5: "very negative"},
    3: {1: "positive", 2: "neutral", 3: "negative"},
}


def sentiment_names(*, levels: int) -> dict[int, str]:
    """Each level's name on a project's scale (1 = most positive); {} when it codes no sentiment."""
    return dict(SENTIMENT_NAMES.get(levels, {}))


def sentiments_resolved(*, project: Project) -> dict[int, int]:
    """Response id -> the people's sentiment: the one level its coders gave, or the lower median of theirs when
    they differ (a response coded 2 and 4 reads 2 ... 3 is neutral either way, but the median keeps a level that
    someone chose). Only codings that count; responses nobody gave a sentiment are absent."""
    levels: dict[int, list[int]] = defaultdict(list)
    rows = Annotation.objects.filter(CODING_COUNTS, response__project=project, sentiment__isnull=False)
    for response_id, level in rows.values_list("response_id", "sentiment").iterator(chunk_size=5000):
        if level is not None:
            levels[response_id].append(level)
    return {r: sorted(given)[(len(given) - 1) // 2] for r, given in levels.items()}
