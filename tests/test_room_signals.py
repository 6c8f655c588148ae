"""Hands, "ik hoor niets", a camera switched off by its owner and the media status the
facilitator sees: through the real server (harness) and the media watch's own judgement."""

from __future__ import annotations

from companion.media_status import SETUP_GRACE, STALL, WINDOW, MediaWatch

# The engine's SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True


async def _group(harness, names=("Anne", "Bas", "Chris")):
    facilitator, invite, _ = await harness.create_room(method="roddelmodel")
    return facilitator, [await harness.join(invite, name) for name in names]


async def test_help_reaches_the_facilitator_and_no_one_else(harness):
    facilitator, (anne, bas, chris) = await _group(harness)
    await facilitator.ok("session.start")
    state = await anne.ok("help.signal", on=True)
    assert state["you"]["help"] is True and "help" not in state
    assert [h["name"] for h in (await facilitator.state())["help"]] == ["Anne"]
    for other in (bas, chris):
        seen = await other.state()
        assert "help" not in seen and seen["you"]["help"] is False
        assert "Anne" not in str({k: v for k, v in seen.items() if k != "participants"})
    await facilitator.ok("help.clear", participant_id=anne.id)
    assert (await facilitator.state())["help"] == []
    status, body = await facilitator.command("help.signal", on=True)
    assert status == 403


async def test_hands_are_kept_in_order_and_lowered(harness):
    facilitator, (anne, bas, chris) = await _group(harness)
    await facilitator.ok("session.start")
    await bas.ok("hand.raise", up=True)
    await anne.ok("hand.raise", up=True)
    hands = {p["name"]: p["hand"] for p in (await chris.state())["participants"]}
    assert hands == {"Fleur": None, "Anne": 2, "Bas": 1, "Chris": None}
    await facilitator.ok("hand.lower", participant_id=bas.id)
    hands = {p["name"]: p["hand"] for p in (await chris.state())["participants"]}
    assert hands["Bas"] is None and hands["Anne"] == 1
    status, _ = await anne.command("hand.raise", up="ja")
    assert status == 400
    await facilitator.ok("session.end")
    assert all(p["hand"] is None for p in (await anne.state())["participants"])


async def test_own_camera_and_a_browser_that_cannot_call(harness):
    facilitator, (anne, bas, chris) = await _group(harness)
    await anne.ok("camera.self", off=True)
    me = next(p for p in (await bas.state())["participants"] if p["id"] == anne.id)
    assert me["camera_self_off"] is True and me["camera_off"] is False
    await bas.ok("media.report", webrtc=False)
    status = (await facilitator.state())["media_status"]
    assert status[bas.id]["label"] == "no_webrtc"
    assert "media_status" not in await anne.state()


async def test_a_vote_tie_is_cleared_when_the_facilitator_appoints_someone(harness):
    facilitator, people = await _group(harness)
    await facilitator.ok("session.start")
    for person in people[:2]:
        await person.ok("case.submit", title=f"Casus {person.id}", question="Hoe dan?")
    await facilitator.ok("step.next")
    cases = {c["author_id"]: c["id"] for c in (await facilitator.state())["cases"]}
    await people[0].ok("vote.cast", case_id=cases[people[0].id])
    await people[1].ok("vote.cast", case_id=cases[people[1].id])
    assert len((await facilitator.ok("vote.close"))["vote"]["tie"]) == 2
    state = await facilitator.ok("inbrenger.set", participant_id=people[2].id)
    assert state["vote"]["tie"] == [] and state["inbrenger"]["id"] == people[2].id


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _watch(counters, online):
    clock = _Clock()
    watch = MediaWatch(lambda room: counters.get(room, {}), lambda: online, lambda room: None, clock)
    return watch, clock


def _link(received, delivered, overflowed=0, state="connected"):
    return {"state": state, "received": received, "audio_delivered": delivered, "audio_overflowed": overflowed}


def test_media_watch_judges_from_the_counters():
    counters = {"r": {"a": _link(0, 0)}}
    online = {"r": {"a", "b"}}
    watch, clock = _watch(counters, online)
    watch.tick()
    # b is online without a call: told about only after the grace.
    assert watch.status("r")["b"]["label"] is None
    received = delivered = 0
    for _ in range(int(WINDOW) + 2):
        clock.now += 1
        received += 50
        delivered += 50
        counters["r"]["a"] = _link(received, delivered)
        watch.tick()
    assert watch.status("r")["a"] == {"media": "connected", "audio": "ok", "label": None}
    # Group audio is there for a, but none of it gets through: "no_sound".
    changes = []
    for _ in range(int(WINDOW) + 1):
        clock.now += 1
        received += 50
        counters["r"]["a"] = _link(received, delivered, overflowed=received)
        changes += watch.tick()
    assert watch.status("r")["a"]["label"] == "no_sound" and changes == ["r"]
    # Nothing at all arrives from a any more: the link is dead, whatever ICE says.
    for _ in range(int(STALL) + 1):
        clock.now += 1
        watch.tick()
    assert watch.status("r")["a"]["label"] == "lost"
    # The call goes away: still "lost" while a is online; b never set one up.
    clock.now += SETUP_GRACE
    del counters["r"]["a"]
    watch.tick()
    assert watch.status("r")["a"]["label"] == "lost"
    assert watch.status("r")["b"]["label"] == "no_media"
    # Someone who leaves the room is forgotten.
    online["r"] = {"b"}
    watch.tick()
    assert "a" not in watch.status("r")


def test_media_watch_nothing_to_hear_is_not_a_problem():
    counters = {"r": {"a": _link(0, 0)}}
    watch, clock = _watch(counters, {"r": {"a"}})
    received = 0
    for _ in range(int(WINDOW) + 2):
        clock.now += 1
        received += 50
        counters["r"]["a"] = _link(received, 0)
        watch.tick()
    assert watch.status("r")["a"] == {"media": "connected", "audio": "quiet", "label": None}


def test_media_watch_says_lost_sooner_when_the_sockets_closed_too():
    counters = {"r": {"a": _link(0, 0), "b": _link(0, 0)}}
    online = {"r": {"a", "b"}}
    socketless: set[str] = set()
    clock = _Clock()
    watch = MediaWatch(lambda room: counters.get(room, {}), lambda: online, lambda room: None, clock, socketless=lambda room: socketless)
    received = 0
    for _ in range(3):
        clock.now += 1
        received += 50
        counters["r"] = {"a": _link(received, received), "b": _link(received, received)}
        watch.tick()
    # Both stop sending; a's tab closed (its socket is gone, presence lingers), b only went quiet.
    socketless.add("a")
    for _ in range(2):
        clock.now += 1
        watch.tick()
    assert watch.status("r")["a"]["label"] == "lost"
    assert watch.status("r")["b"]["label"] is None  # one signal alone waits the full STALL
    for _ in range(int(STALL) - 1):
        clock.now += 1
        watch.tick()
    assert watch.status("r")["b"]["label"] == "lost"
