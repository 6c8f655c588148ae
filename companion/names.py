"""When two display names count as the same name in one room.

Attribution in the advice list depends on every name in a room looking
different.  Names are compared by a key: Unicode NFKC (fullwidth letters,
ligatures and composed/decomposed accents become one form), full case folding
(``ß`` and ``SS``, ``İ``), with invisible characters removed and runs of
white space collapsed.  The name itself is stored and shown as typed; only the
key decides "already taken".

Sources: Unicode Standard Annex #15 (normalisation forms), the
Default_Ignorable_Code_Point property in DerivedCoreProperties.txt.
"""

from __future__ import annotations

import re
import unicodedata

# Default_Ignorable_Code_Point characters that are not format (Cf) characters:
# fillers that render as nothing, the combining grapheme joiner, variation selectors.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong/jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_SPACE = re.compile(r"\s+")


def is_invisible(ch: str) -> bool:
    """True for a character that takes no room on screen: format characters (zero-width
    space/joiners, bidi marks, soft hyphen, word joiner, BOM) and the other default-ignorables."""
    if unicodedata.category(ch) == "Cf":
        return True
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _INVISIBLE_RANGES)


def name_key(name: str) -> str:
    """The comparison key of a display name: ``"  JOSE\\u0301 "`` and ``"José"`` give the same key.

    Folding is applied twice around NFKC because case folding can undo
    normalisation (as in Unicode's NFKC_Casefold). Returns ``""`` for a name made
    only of invisible characters and spaces.
    """
    text = "".join(ch for ch in name if not is_invisible(ch))
    text = unicodedata.normalize("NFKC", text)
    text = unicodedata.normalize("NFKC", text.casefold())
    text = "".join(ch for ch in text if not is_invisible(ch))
    return _SPACE.sub(" ", text).strip()
