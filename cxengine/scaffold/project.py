"""`cxengine init`: write an example project with a config, the standard specs and data."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path

from cxengine.errors import ConfigError
from cxengine.scaffold.customers import write_customers_csv
from cxengine.scaffold.invitations import write_invitations_csv
from cxengine.scaffold.responses import write_responses_csv
from cxengine.scaffold.templates import CONFIG_YAML, GITIGNORE_LINES, README_MD
from cxengine.scaffold.tickets import write_tickets_jsonl

CONFIG_NAME = "cxengine.yaml"
SPECS_DIR = "metric_specs"
RESPONSES = "data/responses.csv"
TICKETS = "data/tickets.jsonl"
CUSTOMERS = "data/customers.csv"
INVITATIONS = "data/invitations.csv"


@dataclass
class InitResult:
    """What `init_project` did: files written (relative to ``target``) and files left alone."""

    target: Path
    files: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    specs: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def config_path(self) -> Path:
        return self.target / CONFIG_NAME

    def paths(self) -> list[Path]:
        """Return the absolute paths of the files written."""
        return [self.target / f for f in self.files]


def standard_specs() -> list[tuple[str, bytes]]:
    """Return (file name, content) of every standard spec, sorted by name.

    Installed, the specs ship as the package ``cxengine.standard_specs``; in a source
    checkout that is not installed, they are the repo's top-level ``metric_specs/``.
    """
    found: dict[str, bytes] = {}
    try:
        root = importlib.resources.files("cxengine.standard_specs")
        for entry in root.iterdir():
            if entry.name.endswith(".yaml") and entry.is_file():
                found[entry.name] = entry.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, TypeError):
        pass
    if not found:
        import cxengine

        repo_specs = Path(cxengine.__file__).resolve().parent.parent / SPECS_DIR
        if repo_specs.is_dir():
            found = {p.name: p.read_bytes() for p in repo_specs.glob("*.yaml") if p.is_file()}
    return sorted(found.items())


def example_specs() -> list[tuple[str, bytes]]:
    """Return the standard specs that run on the example data (the ones `init` copies).

    A standard spec over a dataset the example project does not have (the CSI over the
    restaurant reviews) is left out, so `cxengine validate` of a fresh project is clean.
    """
    import yaml

    datasets = set((yaml.safe_load(CONFIG_YAML) or {}).get("datasets") or {})
    out = []
    for name, content in standard_specs():
        try:
            data = yaml.safe_load(content)
        except yaml.YAMLError:
            data = None
        dataset = data.get("dataset") if isinstance(data, dict) else None
        if dataset is None or dataset in datasets:
            out.append((name, content))
    return out


def init_project(
    target: Path, *, rows: int = 4000, seed: int = 7, force: bool = False
) -> InitResult:
    """Write an example project into ``target``: config, standard specs, data, README."""
    target = Path(target)
    if rows < 1:
        raise ConfigError(f"rows must be at least 1 (got {rows})")
    if target.exists() and not target.is_dir():
        raise ConfigError(f"{target} exists and is not a folder")
    specs = example_specs()
    ours = [CONFIG_NAME, RESPONSES, TICKETS, CUSTOMERS, INVITATIONS]
    ours += [f"{SPECS_DIR}/{name}" for name, _ in specs]
    if not force:
        if (target / CONFIG_NAME).exists():
            raise ConfigError(
                f"{target / CONFIG_NAME} already exists: this folder is already a cxengine "
                "project. Use --force to overwrite the config, specs and example data."
            )
        clashes = [p for p in ours if (target / p).exists()]
        if clashes:
            raise ConfigError(
                f"{target} already has {', '.join(clashes)}; "
                "use --force to overwrite them with the example project"
            )

    n_tickets = max(1, rows // 2)
    n_customers = max(1, rows // 4)
    result = InitResult(target=target)
    (target / "data").mkdir(parents=True, exist_ok=True)
    (target / SPECS_DIR).mkdir(exist_ok=True)

    _write(target, CONFIG_NAME, CONFIG_YAML, result)
    for name, content in specs:
        (target / SPECS_DIR / name).write_bytes(content)
        result.files.append(Path(SPECS_DIR) / name)
        result.specs.append(name)
    result.rows["responses"] = write_responses_csv(target / RESPONSES, rows, seed, n_customers)
    result.files.append(Path(RESPONSES))
    result.rows["tickets"] = write_tickets_jsonl(target / TICKETS, n_tickets, seed, n_customers)
    result.files.append(Path(TICKETS))
    result.rows["customers"] = write_customers_csv(target / CUSTOMERS, n_customers, seed)
    result.files.append(Path(CUSTOMERS))
    result.rows["invitations"] = write_invitations_csv(
        target / INVITATIONS, rows, seed, n_customers
    )
    result.files.append(Path(INVITATIONS))

    readme = README_MD.format(
        responses=f"{rows:,}",
        tickets=f"{n_tickets:,}",
        customers=f"{n_customers:,}",
        invitations=f"{result.rows['invitations']:,}",
        seed=seed,
    )
    if force or not (target / "README.md").exists():
        _write(target, "README.md", readme, result)
    else:
        result.skipped.append(Path("README.md"))  # never clobber the user's own README
    _update_gitignore(target, result)
    return result


def _write(target: Path, name: str, text: str, result: InitResult) -> None:
    (target / name).write_text(text, encoding="utf-8", newline="\n")
    result.files.append(Path(name))


def _update_gitignore(target: Path, result: InitResult) -> None:
    # Append to an existing .gitignore rather than replacing it.
    path = target / ".gitignore"
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    have = {line.strip() for line in existing.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in have]
    if not missing:
        result.skipped.append(Path(".gitignore"))
        return
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    comment = (
        ""
        if existing
        else "# cxengine results database (and its -wal/-shm files), plugins' caches\n"
    )
    with open(path, "a", encoding="utf-8", newline="\n") as fh:
        fh.write(prefix + comment + "\n".join(missing) + "\n")
    result.files.append(Path(".gitignore"))
