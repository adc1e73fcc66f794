"""Loading plugins, and a typed view of what they registered.

Nothing happens at import: `get_plugin_manager()` builds a fresh manager, registers
the built-ins (ordinary plugins, listed in cxengine/default_plugins/catalog.py) and
then each entry point of group ``cxengine`` inside its own guard, so one broken
third-party plugin is reported and skipped instead of taking the tool down (unless
strict mode is on).

The built-ins register each kind, source, reporter and engine by name with a
`LazyEntry` (cxengine/registration.py), and any plugin may: the `Registry`'s tables
import such an item's module only when it is first used. Building the registry so
costs the plugins' entry points, not every kind's module and pydantic models.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from cxengine import hookspecs
from cxengine.errors import PluginError, did_you_mean, known_list
from cxengine.registration import LazyEntry

if TYPE_CHECKING:
    from cxengine.engines.api import Engine
    from cxengine.interfaces import Enricher, Kind, Reporter, Source
    from cxengine.spec.models import MetricSpec

ENTRY_POINT_GROUP = "cxengine"
STRICT_ENV = "CXENGINE_STRICT_PLUGINS"

if TYPE_CHECKING:
    #: The built-in plugins, by the module each one is (cxengine/default_plugins/catalog.py).
    DEFAULT_PLUGINS: tuple[str, ...]


def __getattr__(name: str) -> Any:
    # DEFAULT_PLUGINS comes from the catalog, which `cxengine --help` (it loads only
    # the installed plugins' commands) has no reason to import.
    if name == "DEFAULT_PLUGINS":
        from cxengine.default_plugins.catalog import BUILTINS

        return tuple(BUILTINS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class PluginInfo:
    """A plugin as `cxengine plugins` shows it."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool
    error: str | None = None
    provides: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "error": self.error,
            "provides": self.provides,
        }


def strict_from_env() -> bool:
    """Return True when CXENGINE_STRICT_PLUGINS asks for strict plugin loading."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers the plugins that failed to load."""

    def __init__(self) -> None:
        super().__init__("cxengine")
        self.add_hookspecs(hookspecs)
        self.failures: list[PluginInfo] = []
        self.entry_points: dict[str, tuple[str | None, str | None]] = {}


def get_plugin_manager(
    *,
    strict: bool | None = None,
    load_entry_points: bool = True,
    extra: Iterable[object] = (),
    warn: Callable[[str], None] | None = None,
) -> PluginManager:
    """Build a plugin manager with the built-ins, installed plugins and `extra` ones."""
    strict = strict_from_env() if strict is None else strict
    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    from cxengine.default_plugins.catalog import builtin_plugins

    pm = PluginManager()
    for module_name, builtin in builtin_plugins():
        pm.register(builtin, name=module_name)
    if load_entry_points:
        _load_entry_points(pm, strict=strict, warn=warn)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


def get_command_plugins(
    *, strict: bool | None = None, warn: Callable[[str], None] | None = None
) -> PluginManager:
    """Return a manager of the installed plugins only, probed for `register_commands` only.

    What `cxengine --help` and a plugin's own command need: the plugins' entry points,
    without importing the built-in plugins or calling the other hooks (which import
    the plugins' kinds and sources, and with them sqlglot, DuckDB, …). The full
    manager of `get_plugin_manager` is built when a command needs the registry.
    """
    strict = strict_from_env() if strict is None else strict
    warn = warn or (lambda msg: print(msg, file=sys.stderr))
    pm = PluginManager()
    _load_entry_points(pm, strict=strict, warn=warn, hooks=("register_commands",))
    return pm


def _load_entry_points(
    pm: PluginManager,
    *,
    strict: bool,
    warn: Callable[[str], None],
    hooks: tuple[str, ...] | None = None,
) -> None:
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        dist_name = dist.name if dist else None
        dist_version = dist.version if dist else None
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            # A plugin's import-time print() must not corrupt `--json` stdout, and one
            # that hangs is named while it does, then given up on (load_timeout()).
            with _loading(ep.name, dist_name, warn), contextlib.redirect_stdout(sys.stderr):
                plugin = _time_boxed(ep.load, ep.name)
                pm.register(plugin, name=ep.name)
                try:
                    _check_hooks_known(pm, plugin)
                    _time_boxed(functools.partial(_probe_hooks, pm, plugin, hooks), ep.name)
                except BaseException:
                    pm.unregister(plugin)
                    raise
            pm.entry_points[ep.name] = (dist_name, dist_version)
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # sys.exit() in a plugin must not end the tool either
            detail = _describe(exc)
            if strict:
                raise PluginError(ep.name, f"failed to load: {detail}") from exc
            pm.failures.append(PluginInfo(ep.name, dist_name, dist_version, False, detail))
            warn(
                f"cxengine: plugin {ep.name!r} ({dist_name or 'unknown distribution'}) "
                f"failed to load and was skipped: {detail}"
            )


class NameClash(Exception):
    """A plugin registers a source, kind, reporter or enricher name already taken."""


class LoadTimeout(Exception):
    """A plugin's import or hooks did not finish within the load timeout."""


#: Seconds a plugin may take to import and register (CXENGINE_PLUGIN_TIMEOUT).
DEFAULT_LOAD_TIMEOUT_S = 60.0
TIMEOUT_ENV = "CXENGINE_PLUGIN_TIMEOUT"


def load_timeout() -> float:
    """Return how long a plugin may take to load, from CXENGINE_PLUGIN_TIMEOUT (seconds)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, "") or DEFAULT_LOAD_TIMEOUT_S)
    except ValueError:
        return DEFAULT_LOAD_TIMEOUT_S
    return value if value > 0 else DEFAULT_LOAD_TIMEOUT_S


def _time_boxed(work: Callable[[], T], name: str) -> T:
    """Run a plugin's import or hooks in a daemon thread; give up after load_timeout().

    A thread cannot be killed, so a plugin that hangs keeps its thread until the
    process ends (daemon: it does not keep the process alive); cxengine goes on
    without it. Whatever the plugin raises — SystemExit included — is re-raised here.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # carried to the caller, SystemExit included
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"cxengine plugin {name}", daemon=True)
    thread.start()
    thread.join(load_timeout())
    if thread.is_alive():
        raise LoadTimeout(f"did not finish loading within {load_timeout():g} s ({TIMEOUT_ENV})")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _check_hooks_known(pm: PluginManager, plugin: object) -> None:
    """Refuse a plugin implementing a hook cxengine does not define (a typo, a newer API).

    pluggy's `check_pending()` would raise for it after every plugin is loaded, making
    every command fail; checked here, inside the load guard, only that plugin is
    reported and skipped (fatal with strict plugins).
    """
    from pluggy import PluginValidationError

    for caller in pm.get_hookcallers(plugin) or []:
        if caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and not impl.optionalhook:
                known = [n for n, c in vars(pm.hook).items() if c.has_spec()]
                raise PluginValidationError(
                    plugin,
                    f"implements {caller.name!r}, which is not a cxengine hook"
                    f"{did_you_mean(caller.name, known)}",
                )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, NameClash):
        return str(exc)
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r}) while loading"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


#: After this long, a plugin still loading is named on stderr (it may hang).
SLOW_LOAD_S = 5.0


@contextlib.contextmanager
def _loading(name: str, dist: str | None, warn: Callable[[str], None]) -> Iterator[None]:
    timer = threading.Timer(
        SLOW_LOAD_S,
        lambda: warn(
            f"cxengine: still loading plugin {name!r} ({dist or 'unknown distribution'}) "
            f"after {SLOW_LOAD_S:g} s; if it hangs, uninstall that distribution"
        ),
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _probe_hooks(pm: PluginManager, plugin: object, hooks: tuple[str, ...] | None = None) -> None:
    """Call each of the plugin's hooks once with throwaway arguments.

    A plugin whose module imports cleanly can still fail when its hooks run (a
    missing submodule imported inside ``register_commands``, a bug in a source's
    constructor). Running them here, inside the load guard, lets such a plugin be
    reported and skipped like one that fails to import, instead of failing every
    command later. Hooks only register things, so calling them twice is harmless.
    """
    import click

    taken: list[str] = []
    for caller in pm.get_hookcallers(plugin) or []:
        if hooks is not None and caller.name not in hooks:
            continue
        if caller.name == "register_commands":
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    impl.function(cli=click.Group("probe"))
            continue
        mine = _names_registered(caller, lambda impl: impl.plugin is plugin)
        others = _names_registered(caller, lambda impl: impl.plugin is not plugin)
        taken.extend(f"{caller.name.removeprefix('register_')} {n!r}" for n in mine & others)
    if taken:
        # Registering a name another plugin owns would make every command fail when the
        # registry is built; refusing the newcomer here keeps the tool working.
        raise NameClash(f"registers {', '.join(sorted(taken))}, already provided by another plugin")


def _names_registered(caller: Any, which: Callable[[Any], bool]) -> set[str]:
    names: set[str] = set()

    def register(item: Any, *_args: Any, **_kwargs: Any) -> None:
        name = getattr(item, "name", None)
        if isinstance(name, str):
            names.add(name)

    for impl in caller.get_hookimpls():
        if which(impl):
            impl.function(register=register)
    return names


T = TypeVar("T")


def _members(contract: type) -> list[str]:
    """Return the attributes and methods a protocol declares."""
    declared = getattr(contract, "__protocol_attrs__", None)
    if declared is None:  # Python < 3.12 keeps them in the annotations and the class body
        declared = {*getattr(contract, "__annotations__", {})} | {
            n for n, v in vars(contract).items() if callable(v) and not n.startswith("_")
        }
    return sorted(declared)


class Table(Mapping[str, T]):
    """The sources (or kinds, reporters, …) of every plugin, by name; lazy ones load on use.

    A plugin registers an object, or a `LazyEntry` naming where it lives
    (cxengine/registration.py). Names, `in`, `len`, `owner()`, `description()` and
    `details()` import nothing; reading an item (`table[name]`, `.get`, `.items()`)
    imports a lazily registered one once, checks it as an eagerly registered one is
    checked (its name, the contract) and keeps it. A lazy registration whose module
    fails to import is a `PluginError` naming the plugin, raised where it is used:
    a run that needs the kind cannot go on without it, and nothing else imports it.
    """

    def __init__(self, what: str, contract: Callable[[], type] | None = None):
        self.what = what
        self._contract = contract
        self._items: dict[str, Any] = {}
        self._entries: dict[str, LazyEntry] = {}
        self._owners: dict[str, str] = {}

    def add(self, item: Any, plugin: str) -> None:
        """Register `item` (an object or a LazyEntry) for `plugin`; refuse a taken name."""
        name = getattr(item, "name", None)
        if not isinstance(name, str) or not name:
            raise PluginError(plugin, f"registered a {self.what} without a name: {item!r}")
        if name in self._items:
            raise PluginError(
                plugin,
                f"{self.what} {name!r} is registered by both {self._owners[name]!r} and {plugin!r}",
            )
        if isinstance(item, LazyEntry):
            self._entries[name] = item
        else:
            self._check(item, name, plugin)
        self._items[name] = item
        self._owners[name] = plugin

    def _check(self, item: Any, name: str, plugin: str) -> None:
        contract = self._contract() if self._contract is not None else None
        if contract is not None and not isinstance(item, contract):
            lacking = [m for m in _members(contract) if not hasattr(item, m)]
            raise PluginError(
                plugin,
                f"{self.what} {name!r} does not satisfy the {contract.__name__} contract: "
                f"it lacks {', '.join(lacking)} (see docs/plugins.md)",
            )

    def __getitem__(self, name: str) -> T:
        item = self._items[name]
        if isinstance(item, LazyEntry):
            item = self._load(name, item)
        loaded: T = item
        return loaded

    def _load(self, name: str, entry: LazyEntry) -> Any:
        plugin = self._owners[name]
        try:
            # A module that prints while it loads must not corrupt `--json` on stdout.
            with contextlib.redirect_stdout(sys.stderr):
                item = entry.load()
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # sys.exit() in a plugin module must not end the tool
            raise PluginError(
                plugin, f"{self.what} {name!r} failed to load from {entry.target}: {_describe(exc)}"
            ) from exc
        if getattr(item, "name", None) != name:
            raise PluginError(
                plugin,
                f"{self.what} {name!r} was registered lazily, but what {entry.target} gives "
                f"is named {getattr(item, 'name', None)!r}",
            )
        self._check(item, name, plugin)
        self._items[name] = item
        return item

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def owner(self, name: str) -> str | None:
        """Return the plugin that registered `name`."""
        return self._owners.get(name)

    def entry(self, name: str) -> LazyEntry | None:
        """Return the lazy registration of `name` (None for one registered as an object)."""
        return self._entries.get(name)

    def is_loaded(self, name: str) -> bool:
        """True when `name`'s object exists: registered as one, or imported since."""
        return name in self._items and not isinstance(self._items[name], LazyEntry)

    def description(self, name: str) -> str:
        """Return what `name` is, from its registration when lazy (nothing imported)."""
        entry = self._entries.get(name)
        if entry is not None and entry.description:
            return entry.description
        return str(getattr(self[name], "description", ""))

    def details(self, name: str, key: str) -> Any:
        """Return a detail of a lazy registration (a source's `options`), else None."""
        entry = self._entries.get(name)
        return entry.details.get(key) if entry is not None else None


def _kind_contract() -> type:
    # Imported when a kind is checked: `cxengine --help` imports this module for the
    # plugins' commands and has no use for the contracts.
    from cxengine.interfaces import Kind

    return Kind


def _engine_contract() -> type:
    # engines.api builds pydantic models: imported only to check an engine.
    from cxengine.engines.api import Engine

    return Engine


class Registry:
    """What the loaded plugins registered, by name: the engine's typed view of pm.hook.

    Building it calls every plugin's hooks, which for the built-ins (and any plugin
    registering lazily) import nothing: each table imports an item when it is used.
    """

    def __init__(self, pm: PluginManager):
        self.pm = pm
        self.owners: dict[tuple[str, str], str] = {}  # (what, name) -> plugin name
        self.sources: Table[Source] = self._collect("register_sources", "source")
        self.aggregations: Table[Kind] = self._collect(
            "register_aggregations", "aggregation kind", _kind_contract
        )
        self.reporters: Table[Reporter] = self._collect("register_reporters", "reporter")
        self.enrichers: Table[Enricher] = self._collect("register_enrichers", "enricher")
        self.engines: Table[Engine] = self._collect("register_engines", "engine", _engine_contract)

    def _collect(
        self, hook_name: str, what: str, contract: Callable[[], type] | None = None
    ) -> Table[Any]:
        table: Table[Any] = Table(what, contract)
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            plugin_name = impl.plugin_name

            def register(item: Any, *, _plugin: str = plugin_name, **_: Any) -> None:
                table.add(item, _plugin)

            try:
                # A hook that prints must not corrupt `--json` on stdout.
                with contextlib.redirect_stdout(sys.stderr):
                    impl.function(register=register)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(plugin_name, f"{hook_name} failed: {exc}") from exc
        for name in table:
            self.owners[(what, name)] = table.owner(name) or ""
        return table

    def tables(self) -> dict[str, Table[Any]]:
        """Return every table by what it holds ("source", "aggregation kind", …)."""
        tables: list[Table[Any]] = [
            self.sources,
            self.aggregations,
            self.reporters,
            self.enrichers,
            self.engines,
        ]
        return {t.what: t for t in tables}

    def owner(self, what: str, name: str) -> str | None:
        """Return the plugin that registered a source/aggregation kind/… by name."""
        return self.owners.get((what, name))

    def source(self, name: str) -> Source:
        """Return a source by name or raise with the known names."""
        return _lookup(self.sources, name, "source")

    def aggregation(self, name: str) -> Kind:
        """Return an aggregation kind by name or raise with the known names."""
        return _lookup(self.aggregations, name, "metric kind")

    def reporter(self, name: str) -> Reporter:
        """Return a reporter by name or raise with the known names."""
        return _lookup(self.reporters, name, "reporter")

    def load_all(self) -> dict[str, list[str]]:
        """Import every item registered by name; return each failing plugin's errors."""
        broken: dict[str, list[str]] = {}
        for table in self.tables().values():
            for name in table:
                try:
                    table[name]
                except PluginError as exc:
                    plugin = table.owner(name) or ""
                    broken.setdefault(plugin, []).append(
                        str(exc).removeprefix(f"plugin {plugin!r}: ")
                    )
        return broken

    def spec_models(self) -> SpecModels:
        """Return each kind's spec model by kind name, importing a kind when its model is read."""
        return SpecModels(self.aggregations)

    def plugin_infos(self) -> list[PluginInfo]:
        """Describe every plugin: loaded ones with what they provide, then failures."""
        provides: dict[str, dict[str, list[str]]] = {}
        for (what, name), plugin in sorted(self.owners.items()):
            provides.setdefault(plugin, {}).setdefault(what, []).append(name)
        from cxengine.default_plugins.catalog import BUILTINS

        infos = []
        for name, _plugin in self.pm.list_name_plugin():
            builtin = name in BUILTINS
            dist, version = self.pm.entry_points.get(name, (None, None))
            if builtin:
                from cxengine import __version__

                dist, version = "cxengine", __version__
            infos.append(PluginInfo(name, dist, version, builtin, None, provides.get(name, {})))
        return [*infos, *self.pm.failures]


class SpecModels(Mapping[str, "type[MetricSpec]"]):
    """Kind name -> its spec model; only the kinds whose model is read are imported."""

    def __init__(self, kinds: Table[Kind]):
        self._kinds = kinds

    def __getitem__(self, kind: str) -> type[MetricSpec]:
        model: type[MetricSpec] = self._kinds[kind].spec_model
        return model

    def __iter__(self) -> Iterator[str]:
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds


def _lookup(table: Mapping[str, T], name: str, what: str) -> T:
    try:
        return table[name]
    except KeyError:
        raise KeyError(
            f"{name!r} is not a known {what}{did_you_mean(name, list(table))}. "
            f"Known: {known_list(table)}"
        ) from None


def get_registry(**kwargs: Any) -> Registry:
    """Build a plugin manager and return the typed registry over it."""
    return Registry(get_plugin_manager(**kwargs))
