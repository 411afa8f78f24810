"""The package boundaries of DESIGN.md and STYLE.md, checked by walking the imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("growth", "campaigns", "payouts")
COMPOSITION_ROOTS = {"growth/app.py", "growth/demo.py", "growth/cli.py", "growth/worker.py"}
"""Modules that compose the packages: they may import anything."""
STRIPE_ADAPTERS: set[str] = {"growth/stripe_webhook/service.py", "payouts/provider/stripe_gateway.py"}
"""The webhook intake (growth) and the Stripe payout provider (payouts) once they exist."""


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


MODULES = _modules()


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_growth_never_imports_campaigns_or_payouts(path: Path) -> None:
    if not _rel(path).startswith("growth/") or _rel(path) in COMPOSITION_ROOTS:
        return
    bad = [name for name in _imports(path) if name.split(".")[0] in {"campaigns", "payouts"}]
    assert not bad, f"{_rel(path)} imports {bad}; react to growth's domain events instead"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_campaigns_and_payouts_never_import_each_other(path: Path) -> None:
    own = _rel(path).split("/")[0]
    other = {"campaigns": "payouts", "payouts": "campaigns"}.get(own)
    if other is None:
        return
    bad = [name for name in _imports(path) if name.split(".")[0] == other]
    assert not bad, f"{_rel(path)} imports {bad}"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_core_imports_no_feature_module(path: Path) -> None:
    if not _rel(path).startswith("growth/core/"):
        return
    bad = [
        name
        for name in _imports(path)
        if name.startswith(("growth.", "campaigns", "payouts"))
        and not name.startswith(("growth.core", "growth.settings"))
    ]
    assert not bad, f"{_rel(path)} imports feature modules {bad}"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_packages_reach_each_other_only_through_service(path: Path) -> None:
    """Across packages only a feature's ``service`` (or the ``growth`` kernel) is imported."""
    rel = _rel(path)
    if rel in COMPOSITION_ROOTS:
        return
    own = rel.split("/")[0]
    for name in _imports(path):
        segments = name.split(".")
        if segments[0] not in PACKAGES or segments[0] == own:
            continue
        if name.startswith(("growth.core", "growth.settings")):
            continue
        assert len(segments) >= 3 and segments[2] == "service", f"{rel} reaches into {name}"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_only_the_app_imports_controllers(path: Path) -> None:
    rel = _rel(path)
    if rel in COMPOSITION_ROOTS:
        return
    bad = [n for n in _imports(path) if n.endswith(".controllers") or ".controllers." in n]
    assert not bad, f"{rel} imports controllers {bad}"


@pytest.mark.parametrize("path", MODULES, ids=_rel)
def test_stripe_is_imported_only_by_its_adapters(path: Path) -> None:
    if _rel(path) in STRIPE_ADAPTERS:
        return
    assert "stripe" not in {n.split(".")[0] for n in _imports(path)}, _rel(path)


@pytest.mark.parametrize("path", [p for p in MODULES if p.name == "rules.py"], ids=_rel)
def test_rules_are_pure(path: Path) -> None:
    """``rules.py``: no await, no session, no clock, no Stripe."""
    source = path.read_text()
    tree = ast.parse(source)
    assert not any(isinstance(n, ast.Await | ast.AsyncFunctionDef) for n in ast.walk(tree)), _rel(path)
    # "stripe" as a provider's name (a string value) is data; the Stripe library is what is forbidden.
    for forbidden in ("AsyncSession", "utc_now(", "datetime.now(", "sqlalchemy", "import stripe", "stripe."):
        assert forbidden not in source, f"{_rel(path)} uses {forbidden}"


def test_no_float_on_money_paths() -> None:
    tree = ast.parse((ROOT / "growth/core/money.py").read_text())
    assert not any(isinstance(n, ast.Name) and n.id == "float" for n in ast.walk(tree))
    assert not any(isinstance(n, ast.Constant) and isinstance(n.value, float) for n in ast.walk(tree))
