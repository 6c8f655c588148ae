"""Where the files shipped with companion live: the browser client and the prompts.

``STATIC`` is the browser client (``index.html``, ``js/``, ``css/``); ``PROMPTS`` holds the method files
(``methods/``), the advice cues per language (``advice/``), the export templates (``export/``) and
``golden_questions.toml``. Both are directories (``Path``).

A built wheel holds them inside the package, as ``companion/static`` and ``companion/prompts``
(``pyproject.toml`` maps the checkout's top-level ``static/`` and ``prompts/`` there), so ``pip install``
and ``pipx install`` give a server that needs no checkout. A checkout, run in place or installed with
``pip install -e .``, keeps them beside the package, where the developers edit them.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


STATIC = _shipped("static")
PROMPTS = _shipped("prompts")
