"""The HTTP layer imports the domain packages, never the reverse (no import circle through web.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import companion

PACKAGE = Path(companion.__file__).resolve().parent
DOMAIN = ("advice", "groups", "media", "speech")
# The modules that speak HTTP to browsers: the aiohttp application and its handlers.
# (media/bench.py runs a bare aiohttp server of its own for a benchmark: that is not our HTTP layer.)
HTTP_LAYER = {"companion.web", "companion.web_common", "companion.web_advice", "companion.web_groups",
              "companion.web_followup", "companion.web_record", "companion.server"}


def _imports(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, at any depth (lazy imports in functions count)."""
    module = "companion." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_domain_packages_do_not_import_the_http_layer():
    files = [f for name in DOMAIN for f in sorted((PACKAGE / name).rglob("*.py"))]
    assert len(files) > 20  # the walk found the packages
    wrong = {
        str(f.relative_to(PACKAGE)): sorted(_imports(f) & HTTP_LAYER)
        for f in files
    }
    wrong = {f: names for f, names in wrong.items() if names}
    assert wrong == {}, f"domain modules import the HTTP layer: {wrong}"


def test_the_walk_sees_relative_imports():
    # The check above must be able to fail: the HTTP module's own relative imports are resolved.
    names = _imports(PACKAGE / "web_advice.py")
    assert "companion.web_common" in names and "companion.advice.store" in names
