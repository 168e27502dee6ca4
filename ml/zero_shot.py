"""Zero-shot theme suggestions from embeddings alone, and their hand-over to the trained model as labels arrive.

Before a theme has labels, a response's cosine similarity to the theme's text is the only evidence; it is
weak (MiniLM, theme names only: micro-F1 about 0.25 on the NHS data), so the probabilities are modest by
design, and :func:`blend` fades them out as the trained model gets labels. Plain numpy, no Django.

Functions
---------
- ``theme_text(name, description="") -> str``: the text to embed for a theme
- ``zero_shot_proba(X, T, *, temperature=TEMPERATURE, prior=PRIOR) -> np.ndarray`` (n, k)
- ``zero_shot_labels(zero, *, margin=MARGIN, temperature=TEMPERATURE) -> np.ndarray`` (n, k) bool
- ``blend(zero, trained, n_labels, *, half_life=HALF_LIFE) -> np.ndarray`` (n, k)

Constants chosen on a development split of the NHS pool (bench/autocode.py ``--tune``; test never read).
"""

from __future__ import annotations

import numpy as np

#: How fast a theme's probability falls with its cosine gap to the response's best-matching theme: a gap of
#: one temperature divides the odds by e. Fitted with :data:`PRIOR` by log-loss on the development split.
TEMPERATURE = 0.1
#: Probability that the best-matching theme applies. Low because names alone are weak evidence (about one
#: top match in four is right on the development split, and log-loss over all themes prefers a cautious value).
PRIOR = 0.12
#: Suggest the best-matching theme and any other within this cosine of it (development split: top-1 alone
#: 0.24, +0.02 0.26, +0.05 0.21 micro-F1; wider margins add mostly wrong themes).
MARGIN = 0.02
#: Labels at which :func:`blend` trusts the trained model and the zero-shot guess equally (development split,
#: log-loss at 50 and 100 labels).
HALF_LIFE = 25
#: Sentence the theme's text goes into: a statement embeds closer to answers than a bare noun phrase does
#: (development split, top-1 micro-F1 0.20 bare name vs 0.24 in this sentence).
TEMPLATE = "Someone talking about {}."


def theme_text(name: str, description: str = "") -> str:
    """The text to embed for a theme: its name (and description, if any) in :data:`TEMPLATE`."""
    text = name.strip().rstrip(".").lower()
    if description.strip():
        text = f"{text}. {description.strip()}"
    return TEMPLATE.format(text)


def zero_shot_proba(X: np.ndarray, T: np.ndarray, *, temperature: float = TEMPERATURE,
                    prior: float = PRIOR) -> np.ndarray:
    """Suggestion probabilities (n, k) from cosine similarity of responses ``X`` (n, d) to themes ``T`` (k, d).

    Both L2-normalised (e.g. :func:`ml.embeddings.embed_texts` of the answers and of :func:`theme_text`).
    ``p = sigmoid((cos - best cos of the row) / temperature + logit(prior))``: measured from the row's best
    match, because raw cosines shift from answer to answer (a long answer is near everything, "Nothing."
    near nothing) while the ranking of themes within an answer is what carries the signal.
    """
    if not 0.0 < prior < 1.0 or temperature <= 0:
        raise ValueError("prior must be in (0, 1) and temperature > 0")
    S = np.asarray(X, dtype=np.float64) @ np.asarray(T, dtype=np.float64).T
    if S.size == 0:
        return S
    z = (S - S.max(axis=1, keepdims=True)) / temperature + np.log(prior / (1.0 - prior))
    return 1.0 / (1.0 + np.exp(-z))


def zero_shot_labels(zero: np.ndarray, *, margin: float = MARGIN, temperature: float = TEMPERATURE) -> np.ndarray:
    """Suggested sets (n, k) bool from :func:`zero_shot_proba` output: the top theme plus those within ``margin``.

    ``margin`` is in cosine units; ``temperature`` must be the one the probabilities were made with (a cosine
    gap of ``margin`` is a logit gap of ``margin / temperature``). Every row gets at least its top theme.
    """
    P = np.clip(np.asarray(zero, dtype=np.float64), 1e-12, 1 - 1e-12)
    if P.size == 0:
        return np.zeros(P.shape, dtype=bool)
    logit = np.log(P) - np.log1p(-P)
    return logit >= logit.max(axis=1, keepdims=True) - margin / temperature - 1e-9


def blend(zero: np.ndarray, trained: np.ndarray, n_labels: int, *, half_life: int = HALF_LIFE) -> np.ndarray:
    """Fade from zero-shot to trained probabilities: weight ``n / (n + half_life)`` on the trained model.

    ``n_labels`` is the number of labelled responses the trained model saw (0 gives the zero-shot guess,
    ``half_life`` an even mix). A plain mixture of two probabilities stays a probability, and with calibrated
    inputs it stays roughly calibrated; themes the trained model cannot score yet (probability 0 there)
    keep a share of their zero-shot guess, which shrinks as labels arrive.
    """
    zero = np.asarray(zero, dtype=np.float64)
    trained = np.asarray(trained, dtype=np.float64)
    if zero.shape != trained.shape:
        raise ValueError(f"zero {zero.shape} and trained {trained.shape} must have the same shape")
    if n_labels < 0 or half_life < 0:
        raise ValueError("n_labels and half_life must be >= 0")
    w = 1.0 if n_labels + half_life == 0 else n_labels / (n_labels + half_life)
    return w * trained + (1.0 - w) * zero


def suggestion_threshold(*, prior: float = PRIOR, margin: float = MARGIN, temperature: float = TEMPERATURE) -> float:
    """The one probability from which :func:`zero_shot_proba` output is suggested: the same sets as
    :func:`zero_shot_labels` (the row's best theme has probability ``prior``, one ``margin`` of cosine below it
    ``sigmoid(logit(prior) - margin / temperature)``), so a page can compare each probability with a threshold."""
    z = np.log(prior / (1.0 - prior)) - margin / temperature
    return float(np.nextafter(1.0 / (1.0 + np.exp(-z)), 0.0))
