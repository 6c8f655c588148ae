"""Look-alike display names: refused with 409 in one room, stored and shown as typed."""

from __future__ import annotations

import pytest

from companion.names import name_key

# The engine's SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True

# Each pair: a name already in the room, and a look-alike typed by someone else.
LOOK_ALIKES = [
    ("José", "Jose\u0301"),  # composed é, then e + combining acute
    ("Jose\u0301", "José"),  # the other way round
    ("Anne", "Ａｎｎｅ"),  # fullwidth letters
    ("Anne", "ANNE"),  # case
    ("Straße", "STRASSE"),  # full case folding, not just lower()
    ("Anne", "An\u200dne"),  # zero-width joiner inside
    ("Anne", "\u200bAnne\u2060"),  # zero-width space and word joiner around
    ("Anne", "  Anne  "),  # surrounding spaces
    ("Anne", "\u3164Anne"),  # Hangul filler: a letter that draws nothing
    ("Anne", "Anne\ufe0f"),  # variation selector
    ("Jan de Vries", "Jan\u00a0de  Vries"),  # no-break space, doubled space
    ("ﬁet", "fiet"),  # ligature
]

DIFFERENT = [
    ("José", "Jose"),  # an accent is part of a name
    ("Anne", "Anna"),
    ("Jan de Vries", "Jan deVries"),
]


@pytest.mark.parametrize("first,second", LOOK_ALIKES)
def test_look_alikes_share_a_key(first, second):
    assert name_key(first) == name_key(second), (first, second)


@pytest.mark.parametrize("first,second", DIFFERENT)
def test_different_names_keep_different_keys(first, second):
    assert name_key(first) != name_key(second)


def test_only_invisible_characters_is_no_name():
    assert name_key("\u200b\u3164 \u200d") == ""


async def _join(harness, invite, name):
    async with harness.http.post(harness.url(f"/api/invites/{invite}/join"), json={"name": name}) as r:
        return r.status, await r.json()


async def test_look_alike_names_are_refused_in_the_room(harness):
    for first, second in LOOK_ALIKES:
        _, invite, _ = await harness.create_room(capacity=12)
        status, body = await _join(harness, invite, first)
        assert status == 201, (first, body)
        status, body = await _join(harness, invite, second)
        assert status == 409, (first, second, body)
        assert body["error"]["code"] == "name_taken"
        assert "naam" in body["error"]["message"]  # Dutch, for the person who typed it


async def test_facilitator_name_counts_and_names_are_shown_as_typed(harness):
    facilitator, invite, _ = await harness.create_room(facilitator_name="Renée")
    status, body = await _join(harness, invite, "RENE\u0301E")
    assert status == 409, body
    # Different names get in, and each is shown exactly as its owner typed it.
    decomposed = "Jose\u0301"
    for name in (decomposed, "Ｋｅｅｓ", "Jose"):
        status, body = await _join(harness, invite, name)
        assert status == 201, (name, body)
    shown = [p["name"] for p in (await facilitator.state())["participants"]]
    assert decomposed in shown and "Ｋｅｅｓ" in shown and "Jose" in shown and "Renée" in shown
    # A name made only of invisible characters is an empty name.
    status, body = await _join(harness, invite, "\u3164\u200b")
    assert status == 400, body


async def test_look_alike_refused_after_a_restart(harness):
    """The check reads the stored names, so it holds for rooms loaded from disk too."""
    _, invite, _ = await harness.create_room()
    assert (await _join(harness, invite, "Ｍａｒｉｊｅ"))[0] == 201
    await harness.restart()
    status, body = await _join(harness, invite, "marije")
    assert status == 409, body
