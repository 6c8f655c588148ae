"""The words on screen: the Dutch and English catalogues hold the same keys, and every
error message the server can send has English for a page set to English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from companion.errors import ClientError, bad_request
from companion.messages_en import FIELDS, english

ROOT = Path(__file__).resolve().parent.parent
REFUSALS = {"ClientError", "bad_request", "forbidden", "not_found", "conflict"}


def catalogue_keys(path: Path) -> dict[str, set[str]]:
    """Keys of each language table in a STRINGS = { nl: {...}, en: {...} } object."""
    text = path.read_text(encoding="utf-8")
    body = text[text.index("const STRINGS = {"):]
    tables: dict[str, set[str]] = {}
    for lang in ("nl", "en"):
        start = body.index(f"\n  {lang}: {{")
        end = body.index("\n  },", start)
        tables[lang] = set(re.findall(r'^\s+"([^"]+)":', body[start:end], re.M))
    return tables


def test_dutch_and_english_catalogues_have_the_same_keys():
    for name in ("i18n.js", "advice.js", "followup.js"):
        tables = catalogue_keys(ROOT / "static" / "js" / name)
        assert len(tables["nl"]) > 20, name
        assert tables["nl"] - tables["en"] == set(), f"{name}: no English for these keys"
        assert tables["en"] - tables["nl"] == set(), f"{name}: no Dutch for these keys"


def _sample(node: ast.AST) -> str | None:
    """A message as the server would send it: f-string holes filled with a plausible value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            else:
                parts.append("3")
        return "".join(parts)
    return None


def server_messages() -> list[tuple[str, str]]:
    """(where, message) for every refusal written in companion/: the message argument of
    ClientError(...), bad_request(...), ... and the field names given to clean_text."""
    found = []
    for path in sorted((ROOT / "companion").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if name in REFUSALS:
                arg = node.args[2] if name == "ClientError" and len(node.args) > 2 else node.args[0] if node.args else None
                message = _sample(arg) if arg is not None else None
                if message is not None:
                    found.append((where, message))
            elif name == "clean_text" and len(node.args) > 1:
                field = _sample(node.args[1])
                if field is not None:
                    found.extend((where, template.format(field)) for template in ("{} is leeg", "{} is te lang (hoogstens 3 tekens)"))
    return found


def test_every_server_error_has_english():
    messages = server_messages()
    assert len(messages) > 60, "the scan found too few messages: did the refusal helpers move?"
    missing = [(where, message) for where, message in messages if english(message) is None]
    assert missing == [], "add these to companion/messages_en.py"
    # The field names inside a message are translated too.
    assert english("Groepsnaam is leeg") == "Group name is empty"
    assert english("Vraag is te lang (hoogstens 1000 tekens)") == "Question is too long (at most 1000 characters)"


def test_every_field_name_in_a_text_check_has_english():
    """A field name passed to clean_text (or the group store's _clean) shows inside its refusal: on a page set
    to English a missing one read "Naam van de begeleider: text expected"."""
    fields = set()
    for path in sorted((ROOT / "companion").rglob("*.py")):
        fields |= set(re.findall(r'(?:clean_text|_clean)\([^()]*?,\s*"([^"]+)"', path.read_text(encoding="utf-8")))
    assert "Naam van de begeleider" in fields, "the scan found no field names: did the text checks move?"
    assert [f for f in sorted(fields) if f not in FIELDS] == []
    assert english("Naam van de begeleider: tekst verwacht") == "Facilitator's name: text expected"


def test_every_refusal_kept_in_a_constant_has_english():
    """A refusal written once in a module constant (``INB_ONLY = "..."``) escapes the scan above: a member
    whose page was set to English got "Deze naam is al in gebruik in deze groep" as its English."""
    missing, found = [], 0
    for path in sorted((ROOT / "companion").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
            for target in node.targets if isinstance(target, ast.Name)
        }
        passed = {
            arg.id for call in ast.walk(tree) if isinstance(call, ast.Call)
            for arg in [*call.args, *(k.value for k in call.keywords)] if isinstance(arg, ast.Name)
        }
        for name in sorted(passed & set(constants)):
            text = constants[name]
            if " " in text and text[:1].isupper():
                found += 1
                if english(text) is None:
                    missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert found >= 5, "the scan found too few constants: did the refusals move?"
    assert missing == [], "add these to companion/messages_en.py"


def test_an_error_carries_both_languages():
    error = bad_request("Dat kan niet in deze stap.", "wrong_step").to_dict()
    assert error["message"] == "Dat kan niet in deze stap."
    assert error["message_en"] == "That is not possible in this step."
    unknown = ClientError(400, "x", "Iets nieuws.").to_dict()
    assert unknown["message_en"] == "Iets nieuws."


def glossary_avoided_words() -> list[str]:
    """The Dutch words the glossary's "Not" column rules out on every screen (docs/glossary.md).

    An entry with a parenthesis is narrowed there ("fase (except in roddelfase)"): whole-word
    matching keeps "roddelfase" and "Basismodel" apart from "fase" and "model"; an entry
    limited to buttons is left to a reader."""
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    words = []
    for row in re.findall(r"^\| \*\*.+\|(.*)\|\s*$", text, re.M):
        for entry in re.split(r",\s*(?![^()]*\))", row.strip()):
            entry = entry.strip()
            if not entry or entry.startswith("(") or "(in buttons)" in entry:
                continue
            words.append(re.sub(r"\s*\(.*\)$", "", entry))
    return words


def test_method_texts_use_the_glossary_words():
    import tomllib

    avoided = glossary_avoided_words()
    assert {"probleemeigenaar", "werkvorm", "model", "fase", "tip", "later toegevoegd", "10′"} <= set(avoided), avoided
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(w) for w in avoided) + r")(?![\w-])", re.I)
    found = []
    for path in sorted((ROOT / "prompts" / "methods").glob("*.toml")):
        method = tomllib.loads(path.read_text(encoding="utf-8"))
        texts = [method["description"]["nl"], *(s["title"]["nl"] for s in method["steps"])]
        texts += [t for s in method["steps"] for t in s["text"]["nl"].values()]
        for text in texts:
            said = re.sub(r"“[^”]*”", "", text)  # example questions in quotes are what people say, not our words
            found += [(path.name, m.group(0), said[max(0, m.start() - 40):m.end() + 20]) for m in pattern.finditer(said)]
    assert found == [], "words the glossary rules out (docs/glossary.md)"
