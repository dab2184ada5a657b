"""The package's shape, checked by parsing the source: applications never import each other, the core never
imports an application or the CLI, and no module grows past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "srgan_wgan"
MODULES = sorted(PKG.rglob("*.py"))
ENTRY_POINT = PKG / "__main__.py"  # `python -m srgan_wgan` runs the CLI: the one place the package reaches it


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def _app_of(path: Path) -> str | None:
    rel = path.relative_to(PKG).parts
    return rel[1].removesuffix(".py") if rel[0] == "apps" and len(rel) > 1 and rel[1] != "__init__.py" else None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_import_rules(path: Path) -> None:
    imported = _imports(path)
    app = _app_of(path)
    if app is None and path != ENTRY_POINT:
        bad = sorted(m for m in imported if m.startswith(("srgan_wgan.apps", "srgan_wgan_cli")))
        assert not bad, f"the core module {path.name} imports an application or the CLI: {bad}"
    else:
        others = sorted(m for m in imported if m.startswith("srgan_wgan.apps.")
                        and m.split(".")[2] != app and path != ENTRY_POINT)
        assert not others, f"application {app} imports another application: {others}"


def test_the_rules_catch_a_violation(tmp_path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("def f():\n    from srgan_wgan.apps.paint import PaintGenerator\n")
    assert "srgan_wgan.apps.paint" in _imports(bad)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_is_over_400_lines(path: Path) -> None:
    n = len(path.read_text().splitlines())
    assert n <= 400, f"{path.relative_to(PKG)} has {n} lines: split it"


def test_every_package_is_listed_for_a_non_editable_install() -> None:
    """pyproject's explicit package list names every folder with an ``__init__.py`` (a missing one installs
    without it: `pip install .` then fails at import)."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "srgan_wgan").rglob("__init__.py")}
    assert found - listed == set()
