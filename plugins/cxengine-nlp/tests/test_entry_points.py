"""spaCy finds the components through the `spacy_factories` entry point group."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import spacy


def test_entry_points_are_declared() -> None:
    factories = {ep.name: ep.value for ep in entry_points(group="spacy_factories")}
    assert factories["cx_lemmatizer"] == "cxengine_nlp.lemmatizer:make_lemmatizer"
    assert factories["cx_themes"] == "cxengine_nlp.themes:make_themes"
    assert factories["cx_sentiment"] == "cxengine_nlp.sentiment:make_sentiment"
    [plugin] = [ep for ep in entry_points(group="cxengine") if ep.name == "nlp"]
    assert plugin.value == "cxengine_nlp.plugin"
    assert plugin.load().__doc__


def test_add_pipe_works_in_a_fresh_interpreter() -> None:
    # A fresh process proves spaCy resolves the name itself, without our import.
    code = (
        "import spacy\n"
        "nlp = spacy.blank('en')\n"
        "nlp.add_pipe('cx_sentiment')\n"
        "doc = nlp('not helpful at all')\n"
        "print(nlp.pipe_names, doc._.cx_label)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['cx_sentiment'] negative"


def test_components_compose_in_any_blank_pipeline() -> None:
    nlp = spacy.blank("ru")
    nlp.add_pipe("cx_lemmatizer")
    nlp.add_pipe("cx_themes", config={"taxonomies": ["default", "restaurant"]})
    nlp.add_pipe("cx_sentiment", config={"positive_threshold": 0.5})
    doc = nlp("Официанты очень вежливые")
    assert [t.lemma_ for t in doc] == ["официант", "очень", "вежливый"]
    assert doc._.cx_themes == ("staff_politeness", "service")
    assert doc._.cx_label == "positive"
    assert nlp.config["components"]["cx_sentiment"]["positive_threshold"] == 0.5


def test_themes_lemmatise_on_their_own_when_no_lemmatizer_ran() -> None:
    nlp = spacy.blank("ru")
    nlp.add_pipe("cx_themes")
    assert nlp("Курьера не было")._.cx_themes == ("delivery",)


def test_results_survive_doc_serialisation() -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("cx_themes")
    nlp.add_pipe("cx_sentiment")
    doc = nlp("Refund was quick")
    from spacy.tokens import Doc

    copy = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert copy._.cx_themes == doc._.cx_themes == ("returns_refunds", "wait_time")
    assert copy._.cx_sentiment == doc._.cx_sentiment > 0
