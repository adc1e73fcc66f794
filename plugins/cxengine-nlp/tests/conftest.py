"""Shared fixtures: pipelines built once per session, and the shared data location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings
from spacy.language import Language

from cxengine_nlp.pipeline import get_pipeline
from cxengine_nlp.taxonomy import Taxonomy, restaurant_taxonomy

# Deterministic property tests, as in the host's tests; HYPOTHESIS_PROFILE=explore
# searches with random seeds. No deadline: Hypothesis' 200 ms per example is a
# wall-clock assertion, and the first example of a test builds a spaCy pipeline
# (0.7 s on a loaded machine), which failed the tokenizer property tests as flaky.
settings.register_profile("cxengine", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cxengine"))

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = PLUGIN_ROOT.parents[1]
# CXENGINE_SHARED_DATA points a git worktree (which has no ../shared) at the data.
SHARED_DATA = Path(os.environ.get("CXENGINE_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def restaurant() -> Taxonomy:
    """The default CX taxonomy plus food, interior and service."""
    return restaurant_taxonomy()


@pytest.fixture(scope="session")
def en(restaurant: Taxonomy) -> Language:
    """An English pipeline with the restaurant taxonomy."""
    return get_pipeline("en", restaurant)


@pytest.fixture(scope="session")
def ru(restaurant: Taxonomy) -> Language:
    """A Russian pipeline with the restaurant taxonomy."""
    return get_pipeline("ru", restaurant)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared evaluation data; tests using it skip when ../shared is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
