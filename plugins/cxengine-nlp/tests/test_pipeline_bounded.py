"""A pipeline whose vocabulary outgrew its bound is rebuilt, and results do not change.

Every new word form stays in a spaCy pipeline's vocab and tokenizer cache; over
hundreds of thousands of distinct comments that was hundreds of MB. `analyze` drops a
pipeline past `MAX_LEXEMES` after a batch, so the next batch builds a fresh one.
"""

from __future__ import annotations

import pytest

from cxengine_nlp import analyze, pipeline
from cxengine_nlp.taxonomy import default_taxonomy

TEXTS = [
    "The courier was late again, awful service",
    "Доставка опоздала, курьер был груб",
    "Great app, fast refund 👍",
    "Очень понравилось, спасибо менеджеру Ивану",
    "not helpful at all, the agent hung up",
] * 3 + [f"word{i} and another{i} refund delay" for i in range(30)]


def test_a_grown_pipeline_is_rebuilt_with_identical_results(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    taxonomy = default_taxonomy()
    pipeline._CACHE.clear()
    unbounded = analyze(TEXTS, taxonomy=taxonomy)
    assert ("en", taxonomy.version) in pipeline._CACHE  # small vocab: kept

    monkeypatch.setattr(pipeline, "MAX_LEXEMES", 10)
    pipeline._CACHE.clear()
    first = analyze(TEXTS, taxonomy=taxonomy)
    assert ("en", taxonomy.version) not in pipeline._CACHE  # dropped after the batch
    again = analyze(TEXTS, taxonomy=taxonomy)  # built afresh
    assert first == again == unbounded
