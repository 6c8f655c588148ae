"""Presence through a network change: a socket lost without a goodbye keeps the person present
for a short grace, so the group sees no one leave and come back; a real goodbye is shown at once."""

from __future__ import annotations

import asyncio

import pytest

import companion.web

# The engine's SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True

GRACE = 1.5


@pytest.fixture
def short_grace(monkeypatch):
    monkeypatch.setattr(companion.web, "PRESENCE_GRACE", GRACE)


def cut(person) -> None:
    """The network under the socket goes: no close frame, the TCP connection simply ends."""
    person.ws._conn.transport.abort()


def online_of(state: dict, pid: str) -> bool:
    return next(p["online"] for p in state["participants"] if p["id"] == pid)


async def _room_with_two(harness):
    facilitator, invite, _ = await harness.create_room()
    anne = await harness.join(invite, "Anne")
    bas = await harness.join(invite, "Bas")
    await anne.connect()
    await bas.connect()
    await facilitator.ok("session.start")
    await anne.wait_state(lambda s: online_of(s, bas.id) and s["room"]["status"] == "running")
    return facilitator, anne, bas


async def test_a_lost_socket_that_comes_back_never_looks_gone(harness, short_grace):
    facilitator, anne, bas = await _room_with_two(harness)
    anne.states.clear()
    cut(bas)
    await asyncio.sleep(GRACE / 2)
    assert online_of(await facilitator.state(), bas.id)
    await bas.connect()  # the page's new socket, within the grace
    await asyncio.sleep(GRACE + 0.5)
    assert all(online_of(s, bas.id) for s in anne.states), [online_of(s, bas.id) for s in anne.states]
    assert not any("presence" in s.get("events", []) for s in anne.states)
    assert online_of(await facilitator.state(), bas.id)
    # The room goes on for the one who came back.
    await facilitator.ok("timer.pause")
    await bas.wait_state(lambda s: s["timer"] and not s["timer"]["running"])


async def test_a_lost_socket_that_stays_away_is_gone_after_the_grace(harness, short_grace):
    facilitator, anne, bas = await _room_with_two(harness)
    cut(bas)
    await asyncio.sleep(GRACE / 2)
    assert online_of(await facilitator.state(), bas.id)
    gone = await anne.wait_state(lambda s: not online_of(s, bas.id), timeout=GRACE + 5)
    assert "presence" in gone["events"]


async def test_a_closed_page_is_gone_at_once(harness, short_grace):
    facilitator, anne, bas = await _room_with_two(harness)
    await bas.close()  # a close frame: the page was closed or reloaded
    await anne.wait_state(lambda s: not online_of(s, bas.id), timeout=GRACE / 2)
