"""The layer rules of docs/ledger-rules.md ("Layers"), checked on the source: the core never imports
Qt, and the domain (``desktop_app/core/domain``) imports only the standard library. The same rules,
the windows' one door, the order of the core's areas and the core's lack of import cycles are
import-linter contracts (pyproject.toml, ``lint-imports`` in .ci/run); the last test here keeps
those contracts' lists complete."""

import ast
import sys
import tomllib
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "desktop_app" / "core"
DOMAIN = CORE / "domain"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_core_never_imports_qt():
    offenders = {
        str(path.relative_to(CORE)): sorted(
            m
            for m in imported_modules(path)
            if m.split(".")[0] in {"PySide6", "shiboken6", "PyQt6"}
        )
        for path in CORE.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_domain_imports_only_the_standard_library_and_itself():
    for path in DOMAIN.glob("*.py"):
        name = path.name
        for module in imported_modules(path):
            if module.startswith("."):
                assert module.startswith(".") and not module.startswith(".."), (name, module)
            else:
                assert module.split(".")[0] in sys.stdlib_module_names | {"__future__"}, (
                    name,
                    module,
                )


def test_core_does_not_import_float_for_money():
    for path in CORE.rglob("*.py"):
        assert "float(" not in path.read_text(encoding="utf-8"), path


def test_windows_never_import_the_database_layer():
    ui = CORE.parent / "ui"
    offenders = {
        str(path.relative_to(ui)): sorted(
            m
            for m in imported_modules(path)
            if m.split(".")[0] == "sqlalchemy" or m.startswith("desktop_app.core.db")
        )
        for path in ui.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_linter_contracts_list_every_core_module():
    """The domain contract forbids every other area of the core, and the layers contract orders
    every area (an area added to the core is added there, or the checks would miss it)."""
    config = tomllib.loads((CORE.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = {c["id"]: c for c in config["tool"]["importlinter"]["contracts"]}
    domain = "desktop_app.core.domain"
    modules = {
        f"desktop_app.core.{path.stem}"
        for path in CORE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").is_file()
    }
    assert contracts["domain"]["source_modules"] == [domain]
    forbidden = {
        m for m in contracts["domain"]["forbidden_modules"] if m.startswith("desktop_app.")
    }
    assert forbidden == modules - {domain} | {"desktop_app.ui"}
    assert {f"desktop_app.core.{layer}" for layer in contracts["core-layers"]["layers"]} == modules
    assert contracts["core-acyclic"]["ancestors"] == ["desktop_app.core"]
