"""The plugin registers its sources by name: the adapters load only when a dataset uses one.

`cxengine sources` lists each source's description and options from its registration
(cxengine_exports/plugin.py), without importing the adapter modules; those words are
written next to the classes too, and must say the same.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from cxengine_exports.plugin import SOURCES


@pytest.mark.parametrize("entry", SOURCES, ids=lambda e: e.name)
def test_each_registration_says_what_its_source_says(entry: object) -> None:
    from cxengine.api import LazyEntry

    assert isinstance(entry, LazyEntry)
    source = entry.load()
    assert source.name == entry.name
    assert source.description == entry.description
    assert tuple(entry.details["options"]) == tuple(sorted(source.options_model.model_fields))


def test_registering_the_sources_imports_no_adapter() -> None:
    code = (
        "import sys\n"
        "import cxengine_exports.plugin as plugin\n"
        "found = []\n"
        "plugin.register_sources(register=found.append)\n"
        "print(len(found), sorted(m for m in sys.modules if m.startswith('cxengine_exports')),"
        " 'pydantic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=1)
    assert out[0] == "9"
    assert out[1].strip() == "['cxengine_exports', 'cxengine_exports.plugin'] False"
