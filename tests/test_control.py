"""The facilitator controls who is in: remove someone, lock the room, renew the invite and a personal link."""

from __future__ import annotations

import asyncio

import aiohttp

# The engine's SQL on both databases (tests/conftest.py).
BOTH_DATABASES = True


async def _closed_with(person, code: int) -> None:
    for _ in range(100):
        if person.ws.closed:
            break
        await asyncio.sleep(0.05)
    assert person.ws.closed and person.ws.close_code == code, person.ws.close_code


async def test_a_removed_participant_loses_access_but_keeps_their_words(harness):
    fac, invite, _ = await harness.create_room(capacity=2)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as anne_browser:
        async with anne_browser.post(harness.url(f"/api/invites/{invite}/join"), json={"name": "Anne"}) as r:
            data = await r.json()
        from conftest import Person

        anne = Person(harness, data["room_id"], data["token"], data["participant_id"])
        harness.people.append(anne)
        bas = await harness.join(invite, "Bas")
        await fac.ok("session.start")
        await anne.ok("case.submit", title="Grenzen", question="Hoe zeg ik nee?")
        await anne.ok("takeaway.save", text="Nee zeggen mag.", shared=True)
        await anne.connect()

        status, body = await fac.command("participant.remove", participant_id=fac.id)
        assert status == 409 and body["error"]["code"] == "facilitator_stays"
        state = await fac.ok("participant.remove", participant_id=anne.id)
        await _closed_with(anne, 4403)
        assert [p["name"] for p in state["participants"]] == ["Fleur", "Bas"]
        # Her words stay, under her name.
        assert [c["author"] for c in state["cases"]] == ["Anne"]
        assert state["takeaways"]["shared"] == [{"name": "Anne", "text": "Nee zeggen mag."}]
        # Her link, her browser and her commands are refused.
        async with harness.http.get(harness.url(f"/api/rooms/{fac.room_id}/state"), headers=anne.headers) as r:
            assert r.status == 403
        async with anne_browser.get(harness.url(f"/api/rooms/{fac.room_id}/state")) as r:
            assert r.status == 401
        async with harness.http.get(harness.url(f"/k/{anne.token}"), allow_redirects=False) as r:
            assert r.status == 404
        status, _ = await fac.command("inbrenger.set", participant_id=anne.id)
        assert status == 404
        # Her place is free again (capacity 2), her name stays taken: the list must stay unambiguous.
        assert (await harness.join(invite, "Chris")).id
        async with harness.http.post(harness.url(f"/api/invites/{invite}/join"), json={"name": "Anne"}) as r:
            assert r.status == 409
    await fac.ok("inbrenger.set", participant_id=bas.id)
    status, body = await fac.command("participant.remove", participant_id=bas.id)
    assert status == 409 and body["error"]["code"] == "is_inbrenger"


async def test_lock_the_room_once_started(harness):
    fac, invite, _ = await harness.create_room()
    anne = await harness.join(invite, "Anne")
    status, body = await fac.command("room.lock", locked=True)
    assert status == 409 and body["error"]["code"] == "not_started"
    await fac.ok("session.start")
    status, _ = await anne.command("room.lock", locked=True)
    assert status == 403
    state = await fac.ok("room.lock", locked=True)
    assert state["room"]["locked"] is True
    async with harness.http.get(harness.url(f"/api/invites/{invite}")) as r:
        assert (await r.json())["room"]["locked"] is True  # the invite page says so before anyone types a name
    async with harness.http.post(harness.url(f"/api/invites/{invite}/join"), json={"name": "Laat"}) as r:
        body = await r.json()
        assert r.status == 409 and body["error"]["code"] == "locked" and "gesloten" in body["error"]["message"]
    await harness.restart()  # the lock is stored
    assert (await fac.state())["room"]["locked"] is True
    await fac.ok("room.lock", locked=False)
    assert (await harness.join(invite, "Laat")).id


async def test_renew_the_invite_and_a_personal_link(harness):
    fac, invite, _ = await harness.create_room()
    bas = await harness.join(invite, "Bas")
    async with harness.http.post(harness.url(f"/api/rooms/{fac.room_id}/invite"), json={}, headers=bas.headers) as r:
        assert r.status == 403
    async with harness.http.post(harness.url(f"/api/rooms/{fac.room_id}/invite"), json={}, headers=fac.headers) as r:
        assert r.status == 200
        new_invite = (await r.json())["invite_url"].rsplit("/", 1)[1]
    async with harness.http.get(harness.url(f"/api/invites/{invite}")) as r:
        assert r.status == 404
    assert (await harness.join(new_invite, "Anne")).id

    await bas.connect()
    url = harness.url(f"/api/rooms/{fac.room_id}/participants/{bas.id}/link")
    async with harness.http.post(url, json={}, headers=bas.headers) as r:
        assert r.status == 403  # only the facilitator
    async with harness.http.post(url, json={}, headers=fac.headers) as r:
        assert r.status == 200
        new_token = (await r.json())["personal_url"].rsplit("/", 1)[1]
    await _closed_with(bas, 4401)
    async with harness.http.get(harness.url(f"/api/rooms/{fac.room_id}/state"), headers=bas.headers) as r:
        assert r.status == 403
    async with harness.http.get(harness.url(f"/api/rooms/{fac.room_id}/state"),
                                headers={"Authorization": f"Bearer {new_token}"}) as r:
        assert r.status == 200 and (await r.json())["you"]["name"] == "Bas"


async def test_a_removed_participant_s_call_is_closed_and_the_others_slots_freed(media_server):
    from media_page import MediaPage, small_camera

    from companion.media.loopback import wait_for
    from companion.web import LIVE

    h = media_server
    fac, invite, _ = await h.create_room()
    anne, bas = await h.join(invite, "Anne"), await h.join(invite, "Bas")
    pages = {p.id: MediaPage(h, p, video=small_camera()) for p in (fac, anne, bas)}
    media = h.server.app[LIVE].media
    room = fac.room_id
    try:
        for page in pages.values():
            await page.open()
        await wait_for(lambda: media.connected(room) == {fac.id, anne.id, bas.id}, 60)
        await wait_for(lambda: any(s["participant"] == anne.id for s in pages[bas.id].peer.slots.values()), 30)
        await fac.ok("participant.remove", participant_id=anne.id)
        # Her connection is gone from the server, her page's socket is closed (4403), and no slot carries her.
        await wait_for(lambda: media.connected(room) == {fac.id, bas.id}, 20)
        await wait_for(lambda: pages[anne.id].ws.closed, 10)
        assert pages[anne.id].ws.close_code == 4403
        for pid in (fac.id, bas.id):
            await wait_for(lambda: all(s["participant"] != anne.id for s in pages[pid].peer.slots.values()), 20)
    finally:
        for page in pages.values():
            await page.close()
