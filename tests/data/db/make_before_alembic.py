"""Makes companion-before-alembic.sql: a data folder's database as the code before the Alembic migrations
wrote it (run once with that code: ``git archive db454fc companion prompts static | tar -x -C OLD`` and
``PYTHONPATH=OLD python tests/data/db/make_before_alembic.py OUT.sql``).

Every table gets rows through the code's own functions: two rooms of the roddelmodel with a group, cases,
votes, takeaways, a lock and a removed participant, signals, a lease, browser sessions, utterances and
pieces, advice items with edits, languages, notes and set-aside words, two facilitators; and the
inbrenger's marks in both forms that database could hold (per inbrenger in advice_marks, and on the
items themselves as written before advice_marks, which the first revision moves).
"""

import asyncio
import sqlite3
import sys
import tempfile
from pathlib import Path

from companion import browser_sessions, db, facilitators, signals
from companion.advice import aside, store
from companion.advice.splitter import Utterance
from companion.engine import PhaseEngine
from companion.leases import Leases
from companion.methods import SHIPPED_METHODS, load_catalog
from companion.speech.store import insert_utterance


async def fill(conn) -> None:
    engine = PhaseEngine(conn, load_catalog([SHIPPED_METHODS]))
    owner = facilitators.add(conn, "Fleur de Vries")[0]
    facilitators.add(conn, "Ömer Yılmaz")
    facilitators.first_run(conn)  # the server's first start after the operator added them
    rooms = []
    for name in ("Team Noord", "Team Zuid"):
        room, _, invite = engine.create_room(name, "roddelmodel", "nl", "Fleur", owner_id=owner)
        fac = next(iter(room.participants))
        people = [(await engine.join(invite, who, room.id))[1].id for who in ("Anna", "Bram", "Carla", "Daan")]
        rooms.append((room.id, fac, people))
    room_id, fac, (anna, bram, carla, daan) = rooms[0]
    await engine.command(room_id, fac, "session.start", {})
    await engine.command(room_id, bram, "case.submit", {"title": "Grenzen", "question": "Hoe zeg ik nee?"})
    await engine.command(room_id, anna, "case.submit", {"title": "Planning", "question": "Wat laat ik liggen?"})
    await engine.command(room_id, fac, "step.next", {})
    case = conn.execute("SELECT id FROM cases WHERE participant_id = ?", (bram,)).fetchone()[0]
    for voter in (anna, carla, daan):
        await engine.command(room_id, voter, "vote.cast", {"case_id": case})
    await engine.command(room_id, fac, "vote.close", {})
    await engine.command(room_id, carla, "hand.raise", {"up": True})
    await engine.command(room_id, daan, "takeaway.save", {"text": "Nee zeggen mag", "shared": True})
    await engine.command(room_id, fac, "participant.remove", {"participant_id": daan})
    await engine.command(room_id, fac, "room.lock", {"locked": True})
    browser_sessions.remember(conn, "s" * 43, room_id, anna)
    signals.set_signal(conn, room_id, carla, signals.HELP, True, 1.0)
    Leases(conn, "node-a:8080").take(room_id)
    step = "adviesronde"
    spoken = [
        ("u1", anna, 0.0, 4.0, "Ik zou eerst met je leidinggevende praten."),
        ("u2", carla, 5.0, 9.0, "Misschien kun je een coach zoeken die meekijkt."),
        ("u3", anna, 10.0, 14.0, "Probeer één keer per week nee te zeggen."),
    ]
    for uid, who, start, end, text in spoken:
        insert_utterance(conn, {"id": uid, "room_id": room_id, "step_id": step, "participant_id": who,
                                "start": start, "end": end, "text": text, "confidence": 0.9, "language": "nl"})
    insert_utterance(conn, {"id": "t1", "room_id": room_id, "step_id": step, "participant_id": carla, "start": 15.0,
                            "end": 19.0, "text": "Als één beurt opnieuw.", "confidence": 0.8, "language": "nl",
                            "replaces": ["p1", "p2"]})
    store.ingest_utterances(conn, room_id, [Utterance(u, w, s, e, t) for u, w, s, e, t in spoken], "nl")
    items = store.list_items(conn, room_id)
    store.edit_text(conn, room_id, items[0]["id"], "Eerst met je leidinggevende praten.", fac)
    store._set_language(conn, room_id, items[1]["id"], "en")
    store.add_item(conn, room_id, "Schrijf op wat je nu al doet.", carla, fac)
    store.set_overall_note(conn, room_id, bram, "Veel gehad aan deze ronde.")
    aside.set_aside(conn, room_id, speaker_id=anna, text="Even koffie halen.", reason="off_topic", start=20.0,
                    utterance_ids=["u9"])
    conn.execute("UPDATE rooms SET inbrenger_id = ? WHERE id = ?", (bram, room_id))
    store.set_mark(conn, room_id, items[0]["id"], "useful", bram)
    store.set_item_note(conn, room_id, items[0]["id"], "Volgende week.", bram)
    # The second room as the code before advice_marks left it: the marks on the items themselves.
    room2, fac2, (anna2, bram2, _, _) = rooms[1]
    store.ingest_utterances(conn, room2, [Utterance("v1", anna2, 0.0, 4.0, "Ik zou het gewoon proberen.")], "nl")
    item2 = store.list_items(conn, room2)[0]["id"]
    conn.execute("UPDATE rooms SET inbrenger_id = ? WHERE id = ?", (bram2, room2))
    conn.execute("UPDATE advice_items SET mark = 'ask', note = 'Wat bedoel je?' WHERE id = ?", (item2,))


def main(out: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "companion.sqlite3"
        conn = db.connect(path)
        asyncio.run(fill(conn))
        conn.close()
        raw = sqlite3.connect(path)
        Path(out).write_text("\n".join(raw.iterdump()) + "\n", encoding="utf-8")
        raw.close()


if __name__ == "__main__":
    main(sys.argv[1])
