"""The ``similarity`` scorer: cosine similarity of the output's and the expected answer's
embeddings, from an OpenAI-compatible ``/embeddings`` endpoint.

For answers that are right in other words. Embeddings of the expected answers are kept for
the run (each asked once, however many outputs are compared with it); the case result —
the output's score — is cached like any other. A threshold turns the similarity into pass
or fail; pick it on labelled examples: what counts as "close" depends on the embedding model.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from evalgate.cases import Case, case_text
from evalgate.config import SimilarityScorerConfig
from evalgate.errors import ScorerError
from evalgate.scorers.base import Score, Scorer
from evalgate.untrusted import one_line

Embed = Callable[[list[str]], list[list[float]]]
"""Texts → their embedding vectors, in order; raises the adapter's error on failure."""


def similarity_scorer(config: SimilarityScorerConfig, embed: Embed, fingerprint: dict[str, Any]) -> Scorer:
    """The scorer for a ``similarity`` config, embedding through ``embed``."""
    known: dict[str, list[float]] = {}
    lock = threading.Lock()

    def score(output: str, case: Case) -> Score:
        expected = case_text(case).expected or ""
        with lock:
            cached = known.get(expected)
        try:
            if cached is None:
                vector, cached = embed([output, expected])
                with lock:
                    known[expected] = cached
            else:
                (vector,) = embed([output])
        except Exception as err:  # the adapter's ModelError after its retries
            raise ScorerError(f"the embeddings could not be fetched: {one_line(str(err), limit=300)}") from err
        similarity = cosine(vector, cached)
        passed = similarity >= config.threshold
        return Score(max(0.0, similarity), passed, f"cosine {similarity:.3f} {'≥' if passed else '<'} {config.threshold:g}")

    params = {"embeddings": fingerprint, "threshold": config.threshold}
    return Scorer("similarity", config.version, params, needs_expected=True, function=score)


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity; vectors of different lengths or of zero length are an error."""
    if len(a) != len(b):
        raise ScorerError(f"embeddings of different lengths ({len(a)} and {len(b)})")
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    if norm == 0:
        raise ScorerError("an embedding is all zeros: no similarity can be computed")
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm
