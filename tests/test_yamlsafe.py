"""The YAML reader remembers lines, refuses duplicates and bounds hostile documents."""

from __future__ import annotations

import pytest

from cxengine.yamlsafe import MAX_DEPTH, YamlProblems, load_text


def test_every_key_path_has_its_line() -> None:
    data, pos = load_text(
        "name: csat\nby:\n  - touchpoint\n  - channel\ntarget:\n  warn_below: 70\n", "s.yaml"
    )
    assert data == {"name": "csat", "by": ["touchpoint", "channel"], "target": {"warn_below": 70}}
    assert pos.line(("by", 1)) == 4
    assert pos.line(("target", "warn_below")) == 6
    # A path that does not exist falls back to its nearest parent.
    assert pos.line(("target", "nope")) == 5


def test_duplicate_keys_are_an_error_not_a_silent_overwrite() -> None:
    with pytest.raises(YamlProblems) as err:
        load_text("name: a\nkind: share\nname: b\n", "s.yaml")
    assert str(err.value) == "s.yaml:3: name: duplicate key 'name' (first defined on line 1)"


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(YamlProblems) as err:
        load_text("name: a\nby: [touchpoint\nkind: share\n", "s.yaml")
    assert str(err.value).startswith("s.yaml:")
    assert "invalid YAML" in str(err.value)


def test_alias_bomb_is_bounded() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    with pytest.raises(YamlProblems) as err:
        load_text("\n".join(lines), "bomb.yaml")
    assert "alias bomb" in str(err.value)


def test_deep_nesting_is_bounded() -> None:
    text = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    with pytest.raises(YamlProblems) as err:
        load_text(text, "deep.yaml")
    assert "nesting" in str(err.value)


def test_only_safe_tags_are_accepted() -> None:
    with pytest.raises(YamlProblems):
        load_text("x: !!python/object/apply:os.system ['echo hacked']\n", "evil.yaml")


@pytest.mark.skipif(not hasattr(__import__("yaml"), "CSafeLoader"), reason="PyYAML without libyaml")
def test_libyaml_parses_valid_documents_and_pyyaml_reports_invalid_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every command reads the config and specs: libyaml composes them, PyYAML's Python
    # composer (ten times slower) runs only to word an error as it always has.
    import yaml

    composed: list[str] = []
    real = yaml.composer.Composer.compose_document

    def counting(self: yaml.composer.Composer) -> yaml.Node | None:
        composed.append("python")
        return real(self)

    monkeypatch.setattr(yaml.composer.Composer, "compose_document", counting)
    data, pos = load_text("name: csat\nby:\n  - channel\n", "s.yaml")
    assert data == {"name": "csat", "by": ["channel"]} and pos.line(("by", 0)) == 3
    assert composed == []
    with pytest.raises(YamlProblems) as err:
        load_text("name: a\nby: [touchpoint\nkind: share\n", "s.yaml")
    assert composed == ["python"]
    assert str(err.value).startswith("s.yaml:3: invalid YAML: ")
