"""Taxonomy files: safe YAML, every problem reported at once as file:line: path: message."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxengine_nlp import TaxonomyError, analyze, default_taxonomy, load_taxonomy
from cxengine_nlp.taxonomy import BUILTIN_TAXONOMIES

BROKEN = """\
themes:
  - id: Delivery
    terms:
      en: [parcel]
  - id: loyalty
    colour: blue
    terms:
      de: [Treuekarte]
      en: [loyalty card, ""]
  - title: No id here
    terms: {en: [x]}
  - id: loyalty
    terms: {en: [points]}
"""


def write(tmp_path: Path, text: str, name: str = "team.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, BROKEN)
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy([path])
    assert [str(p) for p in info.value.problems] == [
        f"{path}:2: themes[0].id: 'Delivery' is not a valid id: "
        "use lower-case letters, digits and _",
        f"{path}:6: themes[1].colour: unknown key 'colour'. "
        "Known keys: id, title, description, terms, disabled",
        f"{path}:8: themes[1].terms.de: 'de' is not a supported language. Supported: en, ru",
        f"{path}:9: themes[1].terms.en[1]: expected a non-empty string, got an empty string",
        f"{path}:10: themes[2].id: missing required key 'id'",
        f"{path}:12: themes[3].id: duplicate theme id 'loyalty'",
    ]
    assert str(info.value).count("\n") == 5


def test_problems_from_several_files_are_collected(tmp_path: Path) -> None:
    one = write(tmp_path, "themes: 3\n", "one.yaml")
    two = write(tmp_path, "themes:\n  - id: a\n    terms: {en: [x, x]}\n", "two.yaml")
    with pytest.raises(TaxonomyError) as info:
        load_taxonomy([one, two])
    assert [str(p) for p in info.value.problems] == [
        f"{one}:1: themes: expected a list of themes, got 3 (int)",
        f"{two}:3: themes[0].terms.en[1]: duplicate term 'x'",
    ]


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, "themes:\n  - id: a\n    terms: {en: [x\n")
    with pytest.raises(TaxonomyError, match=rf"^{path}:\d+: \(syntax\): "):
        load_taxonomy([path])


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    # Composed with the safe loader: the tag is never constructed, only rejected.
    path = write(tmp_path, "themes: !!python/object/apply:os.system [echo hi]\n")
    with pytest.raises(TaxonomyError, match="expected a mapping, got 'echo hi'"):
        load_taxonomy([path])


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read"):
        load_taxonomy([tmp_path / "nope.yaml"])


def test_team_file_extends_the_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "themes:\n"
        "  - id: delivery\n    terms: {ru: [дрон]}\n"
        "  - id: loyalty\n    title: Loyalty\n"
        "    terms: {en: [loyalty card], ru: [бонусная карта]}\n",
    )
    taxonomy = load_taxonomy([path])
    assert taxonomy.ids[-1] == "loyalty"
    assert "дрон" in taxonomy.terms("ru")["delivery"]
    assert "курьер" in taxonomy.terms("ru")["delivery"]
    [drone, card] = analyze(["Дроном привезли", "Где моя бонусная карта?"], taxonomy=taxonomy)
    assert drone.themes == ("delivery",)
    assert "loyalty" in card.themes


def test_replace_uses_only_the_given_files(tmp_path: Path) -> None:
    path = write(tmp_path, "themes:\n  - id: loyalty\n    terms: {en: [loyalty card]}\n")
    assert load_taxonomy([path], replace=True).ids == ("loyalty",)


def test_disabled_removes_a_theme(tmp_path: Path) -> None:
    path = write(tmp_path, "themes:\n  - id: communication\n    disabled: true\n")
    assert "communication" not in load_taxonomy([path]).ids


def test_version_is_a_content_hash(tmp_path: Path) -> None:
    same = write(tmp_path, BUILTIN_TAXONOMIES["default"].read_text(encoding="utf-8"), "copy.yaml")
    assert load_taxonomy([same], replace=True).version == default_taxonomy().version
    other = write(tmp_path, "themes:\n  - id: loyalty\n    terms: {en: [points]}\n", "o.yaml")
    assert load_taxonomy([other]).version != default_taxonomy().version


def test_shipped_taxonomies_cover_the_cx_themes() -> None:
    assert set(default_taxonomy().ids) == {
        "delivery",
        "returns_refunds",
        "price",
        "product_quality",
        "website_app_usability",
        "checkout_payment",
        "wait_time",
        "staff_politeness",
        "staff_competence",
        "communication",
        "availability",
    }
    for theme in default_taxonomy().themes:
        assert theme.terms["en"] and theme.terms["ru"], theme.id
    assert set(load_taxonomy([BUILTIN_TAXONOMIES["restaurant"]]).ids) >= {
        "food",
        "interior",
        "service",
    }
