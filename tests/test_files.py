"""The data folder on disk: private to the server's user, and deleted text gone from every file."""

from __future__ import annotations

import os
import stat
import time

from companion.retention import DAY, purge_expired
from companion.web import ENGINE
from conftest import Harness


def files_holding(folder, marker: str) -> list[str]:
    needle = marker.encode()
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def _room_with(h: Harness, marker: str):
    fac, invite, _ = await h.create_room(name="Groep")
    anne = await h.join(invite, "Anne")
    await fac.ok("session.start")
    await anne.ok("case.submit", title="Casus", question=f"Mijn vraag gaat over {marker} en meer.")
    await anne.ok("takeaway.save", text=f"Wat ik meeneem: {marker}.", shared=True)
    async with h.http.post(h.url(f"/api/rooms/{fac.room_id}/advice"), json={"text": f"Advies over {marker}."},
                           headers=fac.headers) as r:
        assert r.status == 201, await r.text()
    await fac.ok("session.end")
    return fac


async def test_private_files_whatever_the_umask_and_deleted_text_in_no_file(tmp_path):
    old = os.umask(0)  # the most careless umask: everything would be world-readable and writable
    h = Harness(tmp_path / "data")
    try:
        await h.start()
        first = await _room_with(h, "MARKER-NU-WEG")
        second = await _room_with(h, "MARKER-LATER-WEG")
    finally:
        os.umask(old)
    try:
        folder = h.data_dir
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in ("companion.sqlite3", "companion.sqlite3-wal", "companion.sqlite3-shm"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
        assert files_holding(folder, "MARKER-NU-WEG")  # written, so the search below can find it

        async with h.http.post(h.url(f"/api/rooms/{first.room_id}/delete-now"), json={"confirm": True},
                               headers=first.headers) as r:
            assert r.status == 200
        assert files_holding(folder, "MARKER-NU-WEG") == []
        assert files_holding(folder, "MARKER-LATER-WEG")  # the other room is untouched

        # The retention sweep: the same, without anyone pressing a button.
        assert purge_expired(h.server.app[ENGINE].conn, time.time() + 40 * DAY) == [second.room_id]
        assert files_holding(folder, "MARKER-LATER-WEG") == []
    finally:
        await h.close()
