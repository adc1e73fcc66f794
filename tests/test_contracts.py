"""The engine reads nothing of a kind that no contract declares.

What a kind can do is declared by the runtime-checkable protocols of
cxengine/interfaces.py. The engine asks for a capability with `isinstance`; it never
probes a kind with getattr/hasattr and never reads an attribute no protocol declares.
Two checks keep it so: one reads the engine's source, one runs the demo project with
every kind wrapped in a recorder of the attributes the engine reads.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from cxengine.config import load_config
from cxengine.interfaces import KIND_CONTRACTS, ComparableKind, Kind
from cxengine.plugins import Registry, get_registry
from cxengine.runner import run_project
from cxengine.scaffold import init_project

PACKAGE = Path(__file__).resolve().parent.parent / "cxengine"
#: The modules that handle kinds: the compute wing, spec checks, the runner, the gate.
ENGINE = sorted(
    [
        *(PACKAGE / "compute").glob("*.py"),
        *(PACKAGE / "compare").glob("*.py"),
        PACKAGE / "spec" / "semantic.py",
        PACKAGE / "runner.py",
        PACKAGE / "session.py",
    ]
)
#: The names the engine gives a kind: variables and parameters.
KIND_NAMES = {"kind", "agg", "aggregation"}
KIND_TYPES = {c.__name__ for c in KIND_CONTRACTS} | {"Aggregation"}


def declared() -> set[str]:
    """Every attribute some kind contract declares."""
    names: set[str] = set()
    for contract in KIND_CONTRACTS:
        names |= set(getattr(contract, "__protocol_attrs__", ())) or {
            n for n in vars(contract) if not n.startswith("_")
        }
        names |= set(getattr(contract, "__annotations__", {}))
    return names


def _kind_names(tree: ast.AST) -> set[str]:
    """Names bound to a kind in a module: conventional names and kind-typed parameters."""
    names = set(KIND_NAMES)
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            text = ast.unparse(node.annotation)
            if any(t in text.replace("|", " ").split() for t in KIND_TYPES):
                names.add(node.arg)
    return names


def undeclared_reads(source: str, allowed: set[str]) -> list[str]:
    """Return 'line: what' for each probe of a kind and each undeclared attribute read."""
    tree = ast.parse(source)
    kinds = _kind_names(tree)
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "hasattr"}
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in kinds
        ):
            found.append(f"{node.lineno}: {node.func.id}({node.args[0].id}, …)")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in kinds
            and node.attr not in allowed
        ):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr in kinds
            and node.attr not in allowed
        ):
            found.append(f"{node.lineno}: ….{node.value.attr}.{node.attr}")
    return sorted(found, key=lambda f: int(f.split(":")[0]))


def test_the_checker_finds_probes_and_undeclared_reads() -> None:
    source = (
        "def f(kind, other: Kind, x):\n"
        "    hasattr(kind, 'depends_on')\n"
        "    other.secret(1)\n"
        "    kind.counts\n"
        "    x.secret\n"
        "    m.aggregation.hidden\n"
    )
    assert undeclared_reads(source, declared()) == [
        "2: hasattr(kind, …)",
        "3: other.secret",
        "6: ….aggregation.hidden",
    ]


@pytest.mark.parametrize("path", ENGINE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_engine_reads_only_declared_kind_attributes(path: Path) -> None:
    assert undeclared_reads(path.read_text(encoding="utf-8"), declared()) == []


def test_every_contract_is_runtime_checkable_and_documented() -> None:
    doc = (PACKAGE.parent / "docs" / "plugins.md").read_text(encoding="utf-8")
    for contract in KIND_CONTRACTS:
        assert getattr(contract, "_is_runtime_protocol", False), contract
        assert f"`{contract.__name__}`" in doc, f"{contract.__name__} is not in docs/plugins.md"


def test_every_builtin_kind_is_a_kind_and_owns_its_test() -> None:
    registry = get_registry(load_entry_points=False)
    for name, kind in registry.aggregations.items():
        assert isinstance(kind, Kind), name
        assert isinstance(kind, ComparableKind), f"{name} has no significance test"


class Recorder:
    """A kind that records every attribute the engine reads of it."""

    def __init__(self, kind: Any, seen: set[str]):
        self._kind = kind
        self._seen = seen

    def __getattr__(self, name: str) -> Any:
        self._seen.add(name)
        return getattr(self._kind, name)


def test_a_run_reads_only_declared_attributes(tmp_path: Path) -> None:
    init_project(tmp_path, rows=300)
    registry = get_registry(load_entry_points=False)
    seen: set[str] = set()
    registry.aggregations = {n: Recorder(k, seen) for n, k in registry.aggregations.items()}  # type: ignore[misc]
    result = run_project(load_config(tmp_path / "cxengine.yaml"), registry, store=False)
    assert result.values
    from cxengine.compare.evaluate import evaluate_run

    evaluate_run(result, registry, None)
    assert seen - declared() == set()
    # The run did ask: calendar, prepared and derived kinds are in the demo.
    assert {"calendar_fields", "prepare", "counts", "estimate"} <= seen


def test_registry_is_typed_by_the_contract() -> None:
    assert Registry.aggregation.__annotations__["return"] in ("Kind", Kind)


def test_a_kind_that_breaks_the_contract_is_refused_naming_what_it_lacks() -> None:
    from cxengine import hookimpl
    from cxengine.errors import PluginError

    class HalfKind:
        name = "half"
        description = "counts, but cannot estimate"
        spec_model = object
        higher_is_better = True

        def fields(self, spec: Any) -> dict[str, tuple[str, ...]]:
            return {}

        def counts(self, spec: Any, ctx: Any) -> dict[str, Any]:
            return {}

    class Plugin:
        @hookimpl
        def register_aggregations(self, register: Any) -> None:
            register(HalfKind())

    with pytest.raises(
        PluginError,
        match=r"'half' does not satisfy the Kind contract: "
        r"it lacks estimate, exclusions",
    ):
        get_registry(load_entry_points=False, extra=[Plugin()])
