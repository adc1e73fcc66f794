"""The plugin registers its enricher and kinds by name: they load when a project uses them.

`cxengine plugins` and `cxengine metrics` on a project without comment tagging so
import none of the plugin's kinds, lexicons or spaCy helpers. The descriptions are
written in the registrations (cxengine_nlp/plugin.py) and in the classes: the same.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from cxengine.api import LazyEntry

from cxengine_nlp.plugin import ENRICHERS, KINDS


@pytest.mark.parametrize("entry", [*ENRICHERS, *KINDS], ids=lambda e: e.name)
def test_each_registration_says_what_its_class_says(entry: LazyEntry) -> None:
    item = entry.load()
    assert item.name == entry.name
    assert item.description == entry.description


def test_registering_imports_nothing_of_the_plugin_but_its_entry_point() -> None:
    code = (
        "import sys\n"
        "import cxengine_nlp.plugin as plugin\n"
        "found = []\n"
        "plugin.register_aggregations(register=found.append)\n"
        "plugin.register_enrichers(register=found.append)\n"
        "print(len(found), sorted(m for m in sys.modules if m.startswith('cxengine_nlp')),"
        " 'pydantic' in sys.modules, 'spacy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=1)
    assert out[0] == "5"
    assert out[1].strip() == "['cxengine_nlp', 'cxengine_nlp.plugin'] False False"
