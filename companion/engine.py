"""The phase engine: the one authority on every room's state.

Every change goes the same way: check the actor's right to it, validate,
change the room in memory and in the database inside one transaction, then tell
the listeners (WebSocket hub, media gates, transcription).  Clients never
change state themselves; they send commands and receive snapshots.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from . import signals, tokens
from .db import Connection, Transaction
from .errors import ClientError, bad_request, conflict, forbidden, not_found
from .groups import meetings
from .methods import LANGUAGES, MethodCatalog
from .names import name_key
from .room import DEELNEMER, ENDED, FACILITATOR, INBRENGER, RUNNING, WAITING, Participant, Room

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 8
MAX_CAPACITY = 12
MAX_NAME = 40
MAX_GROUP_NAME = 80
MAX_TITLE = 120
MAX_QUESTION = 1000
MAX_TAKEAWAY = 4000

# A listener gets the room and the names of what happened ("step", "vote.tie", ...).
Listener = Callable[[Room, tuple[str, ...]], Awaitable[None]]


def clean_text(value: Any, what: str, max_len: int, *, required: bool = True, multiline: bool = False) -> str:
    """User text: a string, trimmed, without control characters, within its length."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise bad_request(f"{what}: tekst verwacht", "invalid")
    allowed = {"\n"} if multiline else set()
    text = "".join(ch for ch in value if ch in allowed or unicodedata.category(ch)[0] != "C")
    text = text.strip()
    if required and not text:
        raise bad_request(f"{what} is leeg", "invalid")
    if len(text) > max_len:
        raise ClientError(413, "too_long", f"{what} is te lang (hoogstens {max_len} tekens)")
    return text


@dataclass(frozen=True)
class Command:
    handler: Callable[..., tuple[str, ...]]
    roles: frozenset[str]
    # Commands that still make sense after the session ended.
    after_end: bool = False


ANY = frozenset({FACILITATOR, INBRENGER, DEELNEMER})
FAC = frozenset({FACILITATOR})
MEMBERS = frozenset({INBRENGER, DEELNEMER})
INB = frozenset({INBRENGER})


class PhaseEngine:
    def __init__(self, conn: Connection, catalog: MethodCatalog, clock: Callable[[], float] = time.time):
        self.conn = conn
        self.catalog = catalog
        self.clock = clock
        self.rooms: dict[str, Room] = {}
        self.listeners: list[Listener] = []
        # Rooms stored at once: a leaked facilitator link cannot fill the disk (web.py sets them from Settings).
        self.max_rooms = 1000
        self.max_rooms_per_facilitator = 50
        self._overtime_handles: dict[str, asyncio.TimerHandle] = {}

    # ------------------------------------------------------------------ rooms
    def get(self, room_id: str) -> Room:
        room = self.rooms.get(room_id)
        if room is None:
            if not isinstance(room_id, str) or len(room_id) > 64:
                raise not_found("Deze kamer bestaat niet.", "unknown_room")
            room = Room.load(self.conn, room_id)
            if room is None:
                raise not_found("Deze kamer bestaat niet.", "unknown_room")
            self.rooms[room_id] = room
        return room

    def resume_all(self, keep: Callable[[list[str]], list[str]] = lambda ids: ids) -> int:
        """After a restart: load every unfinished room (of those ``keep`` returns: the ones this process
        may serve, companion/leases.py) and re-arm its timer signal."""
        ids = keep([row["id"] for row in self.conn.execute("SELECT id FROM rooms WHERE status != ?", (ENDED,))])
        for room_id in ids:
            self.resume(room_id)
        return len(ids)

    def resume(self, room_id: str) -> Room:
        """The room as stored, as after a restart: loaded afresh (a copy in memory from before, when
        another process served it meanwhile, is stale) and its timer signal armed. ClientError 404."""
        self.forget(room_id)
        room = self.get(room_id)
        self._schedule_overtime(room)
        return room

    def forget(self, room_id: str) -> None:
        """No longer served by this process: out of memory, its timer signal off (the data stays)."""
        self.rooms.pop(room_id, None)
        handle = self._overtime_handles.pop(room_id, None)
        if handle:
            handle.cancel()

    def create_room(
        self,
        name: Any,
        method_id: Any,
        language: Any,
        facilitator_name: Any,
        capacity: Any = DEFAULT_CAPACITY,
        owner_id: str | None = None,
        group: dict[str, Any] | None = None,
    ) -> tuple[Room, str, str]:
        """Returns the room, the facilitator's personal token and the invite token.

        ``owner_id`` is the facilitator (companion.facilitators) who made it; ClientError 429 when
        they, or the server as a whole, hold as many rooms as the limits allow. Without ``group`` the room
        is a one-off group with one meeting (companion/groups/meetings.py); with ``group`` ({group_id,
        member_id: the facilitator's member, retention_days}) it is the first case room of a new meeting
        of that group."""
        group_name = clean_text(name, "Groepsnaam", MAX_GROUP_NAME)
        fac_name = clean_text(facilitator_name, "Je naam", MAX_NAME)
        method = self.catalog.get(method_id) if isinstance(method_id, str) else None
        if method is None:
            raise bad_request("Onbekende methode.", "unknown_method")
        if language not in LANGUAGES:
            raise bad_request("Taal moet nl of en zijn.", "invalid")
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 2 <= capacity <= MAX_CAPACITY:
            raise bad_request(f"Aantal deelnemers moet tussen 2 en {MAX_CAPACITY} liggen.", "invalid")
        room_id = tokens.new_id()
        invite = tokens.new_token()
        fac_token = tokens.new_token()
        fac_id = tokens.new_id()
        now = self.clock()
        with Transaction(self.conn) as conn:
            self._check_room_limits(conn, owner_id)
            source_hash = hashlib.sha256(method.source.encode("utf-8")).hexdigest()
            conn.execute(
                "INSERT INTO method_sources (hash, source) VALUES (?, ?) ON CONFLICT DO NOTHING", (source_hash, method.source)
            )
            conn.execute(
                """INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at)
                   VALUES (?, ?, ?, '', ?, ?, ?, ?)""",
                (room_id, group_name, method.id, language, capacity, tokens.token_hash(invite), now),
            )
            conn.execute("INSERT INTO room_methods (room_id, method_hash) VALUES (?, ?)", (room_id, source_hash))
            conn.execute(
                """INSERT INTO participants (id, room_id, name, role, token_hash, joined_at, member_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (fac_id, room_id, fac_name, FACILITATOR, tokens.token_hash(fac_token), now,
                 group["member_id"] if group else None),
            )
            if owner_id is not None:
                conn.execute("INSERT INTO room_owners (room_id, facilitator_id) VALUES (?, ?)", (room_id, owner_id))
            if group is None:
                meetings.make_one_off(conn, room_id, name=group_name, language=language, method_id=method.id,
                                      facilitator_pid=fac_id, facilitator_name=fac_name, owner_id=owner_id,
                                      retention_days=30, now=now)
            else:
                conn.execute("UPDATE rooms SET retention_days = ? WHERE id = ?", (group["retention_days"], room_id))
                meeting_id, _ = meetings.new_meeting(conn, group["group_id"], method.id, now)
                meetings.add_case_room(conn, meeting_id, room_id)
        return self.get(room_id), fac_token, invite

    def _check_room_limits(self, conn: Connection, owner_id: str | None) -> None:
        if conn.execute("SELECT COUNT(*) FROM rooms").fetchone()[0] >= self.max_rooms:
            raise ClientError(429, "server_full", "Deze server heeft het maximale aantal kamers. Vraag de beheerder om ruimte.")
        if owner_id is not None:
            held = conn.execute("SELECT COUNT(*) FROM room_owners WHERE facilitator_id = ?", (owner_id,)).fetchone()[0]
            if held >= self.max_rooms_per_facilitator:
                raise ClientError(
                    429, "too_many_rooms",
                    f"Je hebt al {held} kamers (het maximum). Verwijder een afgelopen sessie of vraag de beheerder.",
                )

    def room_for_invite(self, invite: str, room_id: str | None = None) -> Room:
        """The room an invite opens; with ``room_id`` (the room in the link's path) it must be that room.
        ClientError 404 ``unknown_invite``."""
        found = self.room_id_of_invite(invite)
        if found is None or (room_id is not None and found != room_id):
            raise not_found("Deze uitnodiging is onbekend of verlopen.", "unknown_invite")
        return self.get(found)

    def room_id_of_invite(self, invite: str | None) -> str | None:
        """The room id an invite belongs to, read from the database only (the room is not loaded here)."""
        if not invite or not isinstance(invite, str) or len(invite) > 128:
            return None
        row = self.conn.execute("SELECT id FROM rooms WHERE invite_hash = ?", (tokens.token_hash(invite),)).fetchone()
        return row["id"] if row is not None else None

    def room_id_of_token(self, token: str | None) -> str | None:
        """The room id a personal token belongs to (a removed person's token matches nothing), from the database only."""
        if not token or not isinstance(token, str) or len(token) > 128:
            return None
        row = self.conn.execute(
            "SELECT room_id FROM participants WHERE token_hash = ?", (tokens.token_hash(token),)
        ).fetchone()
        return row["room_id"] if row is not None else None

    def authenticate(self, token: str | None, room_id: str | None = None) -> tuple[Room, Participant]:
        if not token or not isinstance(token, str) or len(token) > 128:
            raise ClientError(401, "no_token", "Je bent niet (meer) aangemeld in deze kamer. Open je persoonlijke link opnieuw.")
        row = self.conn.execute(
            "SELECT id, room_id FROM participants WHERE token_hash = ?", (tokens.token_hash(token),)
        ).fetchone()
        if row is None or (room_id is not None and row["room_id"] != room_id):
            raise forbidden("Deze link hoort niet bij deze kamer.", "bad_token")
        room = self.get(row["room_id"])
        return room, room.participants[row["id"]]

    async def join(self, invite: str, name: Any, room_id: str | None = None) -> tuple[Room, Participant, str]:
        room = self.room_for_invite(invite, room_id)
        display = clean_text(name, "Naam", MAX_NAME)
        if room.status == ENDED:
            raise conflict("Deze sessie is al afgelopen.", "ended")
        if room.locked:
            raise conflict("De begeleider heeft de kamer gesloten: er kan niemand meer bij. Vraag de begeleider.", "locked")
        key = name_key(display)
        if not key:
            raise bad_request("Naam is leeg", "invalid")
        if room.joined_count >= room.capacity:
            raise conflict(f"De kamer is vol ({room.capacity} deelnemers).", "room_full")
        token = tokens.new_token()
        participant = Participant(id=tokens.new_id(), name=display, role=DEELNEMER, joined_at=self.clock())
        with Transaction(self.conn) as conn:
            # Checked against the stored names inside the write lock, so two look-alikes
            # joining at the same moment cannot both get in.
            for row in conn.execute("SELECT name FROM participants WHERE room_id = ?", (room.id,)):
                if name_key(row["name"]) == key:
                    raise conflict(
                        "Deze naam is al in gebruik in deze kamer, of lijkt er zo op dat niemand het "
                        "verschil ziet; kies een andere (bijvoorbeeld met je achternaam erbij).",
                        "name_taken",
                    )
            conn.execute(
                "INSERT INTO participants (id, room_id, name, role, token_hash, joined_at) VALUES (?, ?, ?, ?, ?, ?)",
                (participant.id, room.id, participant.name, participant.role, tokens.token_hash(token), participant.joined_at),
            )
            meetings.attach_member(conn, room.id, participant.id, participant.name, participant.joined_at)
            room.rev += 1
            room.save(conn)
        room.participants[participant.id] = participant
        await self._notify(room, ("participants",))
        return room, participant, token

    async def enter_member(self, room_id: str, member_id: str) -> tuple[Room, Participant, bool]:
        """A group member who opened their personal link comes into a case room of their group's meeting:
        their participant there (made now, as a join makes one, if they have none). Returns (room,
        participant, made). A member whose role is ``begeleider`` is the room's facilitator. ClientError
        403 for a member of another group or one the facilitator removed from this room, 409 when the
        room ended, is locked or full."""
        room = self.get(room_id)
        group = meetings.group_of_room(self.conn, room.id)
        member = self.conn.execute("SELECT * FROM members WHERE id = ?", (member_id,)).fetchone()
        if group is None or member is None or member["group_id"] != group["id"]:
            raise forbidden("Deze link hoort niet bij deze kamer.", "bad_token")
        existing = meetings.participant_of_member(self.conn, room.id, member_id)
        if existing is not None:
            participant = room.participants.get(existing["id"])
            if participant is None or participant.removed:
                raise forbidden("De begeleider heeft je uit deze casus gehaald. Vraag de begeleider.", "removed")
            return room, participant, False
        if room.status == ENDED:
            raise conflict("Deze sessie is al afgelopen.", "ended")
        role = FACILITATOR if member["role"] == meetings.BEGELEIDER else DEELNEMER
        if role != FACILITATOR and room.locked:
            raise conflict("De begeleider heeft de kamer gesloten: er kan niemand meer bij. Vraag de begeleider.", "locked")
        if role != FACILITATOR and room.joined_count >= room.capacity:
            raise conflict(f"De kamer is vol ({room.capacity} deelnemers).", "room_full")
        participant = Participant(id=tokens.new_id(), name=member["name"], role=role, joined_at=self.clock())
        with Transaction(self.conn) as conn:
            key = name_key(participant.name)
            for row in conn.execute("SELECT name FROM participants WHERE room_id = ?", (room.id,)):
                if name_key(row["name"]) == key:
                    raise conflict("Iemand in deze kamer heet al zo. Vraag de begeleider.", "name_taken")
            conn.execute(
                """INSERT INTO participants (id, room_id, name, role, token_hash, joined_at, member_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (participant.id, room.id, participant.name, participant.role,
                 tokens.token_hash(tokens.new_token()), participant.joined_at, member_id),
            )
            room.rev += 1
            room.save(conn)
        room.participants[participant.id] = participant
        await self._notify(room, ("participants",))
        return room, participant, True

    # --------------------------------------------------------------- commands
    async def command(self, room_id: str, actor_id: str, name: Any, args: Any) -> tuple[str, ...]:
        room = self.get(room_id)
        actor = room.participants.get(actor_id)
        if actor is None or actor.removed:
            raise forbidden("Je hoort niet bij deze kamer.", "bad_token")
        spec = COMMANDS.get(name) if isinstance(name, str) else None
        if spec is None:
            raise bad_request(f"Onbekende opdracht: {str(name)[:40]!r}", "unknown_command")
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise bad_request("args moet een object zijn", "invalid")
        role = room.role_of(actor_id)
        if role not in spec.roles:
            raise forbidden(_refusal(name, role), "forbidden")
        if room.status == ENDED and not spec.after_end:
            raise conflict("De sessie is afgelopen.", "ended")
        now = self.clock()
        inbrenger_before = room.inbrenger_id
        try:
            with Transaction(self.conn):
                events = spec.handler(self, room, actor, args, now)
                room.rev += 1
                room.save(self.conn)
                if room.inbrenger_id != inbrenger_before:
                    meetings.refresh_roles_of_room(self.conn, room.id)
        except BaseException:
            # Keep memory equal to what is on disk: a refused command changed nothing.
            self.rooms[room_id] = Room.load(self.conn, room_id) or room
            raise
        self._schedule_overtime(room)
        await self._notify(room, events)
        return events

    def renew_invite(self, room_id: str, actor_id: str) -> str:
        """A new invite link for the room (facilitator only); the old one stops working. Returns the token."""
        room = self._facilitator_room(room_id, actor_id)
        invite = tokens.new_token()
        with Transaction(self.conn):
            self.conn.execute("UPDATE rooms SET invite_hash = ? WHERE id = ?", (tokens.token_hash(invite), room.id))
        return invite

    def renew_link(self, room_id: str, actor_id: str, participant_id: Any) -> tuple[Participant, str]:
        """A new personal link for someone (facilitator only): the old link and every browser it was
        opened in lose access. Returns the participant and the new token."""
        room = self._facilitator_room(room_id, actor_id)
        participant = self._participant_arg(room, {"participant_id": participant_id})
        token = tokens.new_token()
        with Transaction(self.conn):
            self.conn.execute("UPDATE participants SET token_hash = ? WHERE id = ?", (tokens.token_hash(token), participant.id))
            self.conn.execute("DELETE FROM browser_rooms WHERE participant_id = ?", (participant.id,))
        return participant, token

    def _facilitator_room(self, room_id: str, actor_id: str) -> Room:
        room = self.get(room_id)
        actor = room.participants.get(actor_id)
        if actor is None or actor.removed or room.role_of(actor_id) != FACILITATOR:
            raise forbidden("Alleen de begeleider kan dit doen.", "forbidden")
        return room

    def touch(self, room: Room) -> None:
        """A change that lives outside the room's own rows (advice list, transcription status):
        rev still rises with it, as the protocol promises, so clients can order the states."""
        room.rev += 1
        self.conn.execute("UPDATE rooms SET rev = ? WHERE id = ?", (room.rev, room.id))

    async def _notify(self, room: Room, events: tuple[str, ...]) -> None:
        for listener in list(self.listeners):
            try:
                await listener(room, events)
            except Exception:  # one broken listener must not hide the change from the others
                log.exception("listener failed for room %s", room.id)

    # ---------------------------------------------------------- overtime signal
    def _schedule_overtime(self, room: Room) -> None:
        handle = self._overtime_handles.pop(room.id, None)
        if handle:
            handle.cancel()
        if room.status != RUNNING or not room.timer.running or room.overtime_notified:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        delay = max(0.0, room.seconds_left(self.clock()))
        self._overtime_handles[room.id] = loop.call_later(delay, lambda: asyncio.ensure_future(self._overtime(room.id)))

    async def _overtime(self, room_id: str) -> None:
        self._overtime_handles.pop(room_id, None)
        room = self.rooms.get(room_id)
        if room is None or room.status != RUNNING or room.overtime_notified:
            return
        if room.seconds_left(self.clock()) > 0.05:  # timer changed meanwhile
            self._schedule_overtime(room)
            return
        with Transaction(self.conn):
            room.overtime_notified = True
            room.rev += 1
            room.save(self.conn)
        await self._notify(room, ("step.overtime",))

    def close(self) -> None:
        for handle in self._overtime_handles.values():
            handle.cancel()
        self._overtime_handles.clear()

    # ------------------------------------------------------------ handlers
    def _enter_step(self, room: Room, index: int, now: float) -> tuple[str, ...]:
        steps = room.method.steps
        if not 0 <= index < len(steps):
            raise bad_request(f"Stap {index + 1} bestaat niet in deze methode.", "invalid")
        events: list[str] = ["step"]
        target = steps[index]
        if target.needs_inbrenger and room.inbrenger_id is None:
            # Leaving the vote with a clear winner settles it; a tie needs the facilitator.
            if self._tally_winner(room) is None:
                raise conflict(
                    "Er is nog geen inbrenger. Sluit de stemming of wijs een inbrenger aan.", "no_inbrenger"
                )
            events.append("inbrenger")
        room.step_index = index
        room.timer.restart(now)
        room.overtime_notified = False
        return tuple(events)

    def _tally_winner(self, room: Room) -> str | None:
        """Close the vote; set the inbrenger if one case has most votes."""
        counts = self._vote_counts(room)
        if not counts:
            return None
        best = max(counts.values())
        leaders = sorted(cid for cid, n in counts.items() if n == best)
        room.vote_closed = True
        if len(leaders) > 1:
            room.vote_tie = leaders
            return None
        room.vote_tie = []
        self._choose_case(room, leaders[0])
        return leaders[0]

    def _vote_counts(self, room: Room) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT case_id, COUNT(*) AS n FROM votes WHERE room_id = ? GROUP BY case_id", (room.id,)
        )
        return {row["case_id"]: row["n"] for row in rows}

    def _choose_case(self, room: Room, case_id: str) -> None:
        row = self.conn.execute(
            "SELECT participant_id, question FROM cases WHERE id = ? AND room_id = ?", (case_id, room.id)
        ).fetchone()
        if row is None:
            raise not_found("Deze casus bestaat niet.", "unknown_case")
        room.case_id = case_id
        room.inbrenger_id = row["participant_id"]
        room.question_original = row["question"]
        room.question_reformulated = None
        room.vote_tie = []

    def _require_step(self, room: Room, *kinds: str, vote: bool = False) -> None:
        step = room.step
        ok = step is not None and (step.kind in kinds or (vote and step.has_vote))
        if not ok:
            raise conflict("Dat kan niet in deze stap.", "wrong_step")

    def _participant_arg(self, room: Room, args: dict) -> Participant:
        pid = args.get("participant_id")
        participant = room.participants.get(pid) if isinstance(pid, str) else None
        if participant is None or participant.removed:
            raise not_found("Onbekende deelnemer.", "unknown_participant")
        return participant

    def cmd_start(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        if room.status != WAITING:
            raise conflict("De sessie is al begonnen.", "already_started")
        room.status = RUNNING
        meetings.case_started(self.conn, room.id, now)
        return self._enter_step(room, 0, now) + ("session.start",)

    def cmd_next(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_running(room)
        if room.step_index + 1 >= len(room.method.steps):
            raise conflict("Dit is de laatste stap. Beëindig de sessie als jullie klaar zijn.", "last_step")
        return self._enter_step(room, room.step_index + 1, now)

    def cmd_previous(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_running(room)
        if room.step_index == 0:
            raise conflict("Dit is de eerste stap.", "first_step")
        return self._enter_step(room, room.step_index - 1, now)

    def cmd_goto(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_running(room)
        index = args.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise bad_request("index moet een stapnummer zijn (vanaf 0)", "invalid")
        return self._enter_step(room, index, now)

    def _require_running(self, room: Room) -> None:
        if room.status != RUNNING:
            raise conflict("De sessie is nog niet begonnen.", "not_started")

    def cmd_pause(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_running(room)
        room.timer.pause(now)
        return ("timer",)

    def cmd_resume(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_running(room)
        room.timer.resume(now)
        return ("timer",)

    def cmd_add_minutes(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_running(room)
        minutes = args.get("minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not -60 <= minutes <= 60 or minutes == 0:
            raise bad_request("minutes moet een getal tussen -60 en 60 zijn (niet 0)", "invalid")
        step_seconds = room.step.minutes * 60
        # Never below one minute in all, whatever is taken off.
        room.timer.extra_seconds = max(60 - step_seconds, room.timer.extra_seconds + minutes * 60)
        room.overtime_notified = room.seconds_left(now) <= 0 and room.overtime_notified
        return ("timer",)

    def cmd_end(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        room.status = ENDED
        room.ended_at = now
        room.timer.pause(now)
        signals.clear_kind(self.conn, room.id, signals.HAND)
        signals.clear_kind(self.conn, room.id, signals.HELP)
        meetings.case_ended(self.conn, room.id, now)
        return ("session.end",)

    def cmd_case_next(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        """The next case of the same meeting, in a new case room (companion/groups/meetings.py): same
        name, method, language, capacity and owner; everyone not removed carried over; the questions not
        treated carried over to be voted on again; steps, timer, gates, votes, advice list and take-aways
        fresh. The room's pages get the event ``moved`` and ``meeting.next_room`` in their state."""
        if room.status != ENDED:
            raise conflict("Sluit eerst deze casus af; daarna kan de volgende beginnen.", "not_ended")
        meeting = meetings.require_meeting(self.conn, room.id)
        if meetings.next_room(self.conn, room.id) is not None:
            raise conflict("De volgende casus is al begonnen.", "next_exists")
        owner = self.conn.execute("SELECT facilitator_id FROM room_owners WHERE room_id = ?", (room.id,)).fetchone()
        self._check_room_limits(self.conn, owner["facilitator_id"] if owner else None)
        new_id = tokens.new_id()
        # The invite goes along too: a latecomer with the meeting's invite lands in the case that runs now.
        old_invite = self.conn.execute("SELECT invite_hash FROM rooms WHERE id = ?", (room.id,)).fetchone()[0]
        self.conn.execute(
            "UPDATE rooms SET invite_hash = ? WHERE id = ?", (tokens.token_hash(tokens.new_token()), room.id)
        )
        self.conn.execute(
            """INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at,
                                  retention_days)
               SELECT ?, name, method_id, method_source, language, capacity, ?, ?, retention_days FROM rooms WHERE id = ?""",
            (new_id, old_invite, now, room.id),
        )
        self.conn.execute(
            "INSERT INTO room_methods (room_id, method_hash) SELECT ?, method_hash FROM room_methods WHERE room_id = ?",
            (new_id, room.id),
        )
        if owner is not None:
            self.conn.execute(
                "INSERT INTO room_owners (room_id, facilitator_id) VALUES (?, ?)", (new_id, owner["facilitator_id"])
            )
        people = [
            (p.id, p.name, FACILITATOR if p.role == FACILITATOR else DEELNEMER, meetings.member_of(self.conn, room.id, p.id))
            for p in room.present
        ]
        meetings.carry_over(self.conn, room.id, new_id, people, room.case_id, now)
        meetings.add_case_room(self.conn, meeting["id"], new_id)
        return ("moved",)

    def cmd_set_inbrenger(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        participant = self._participant_arg(room, args)
        if participant.role == FACILITATOR:
            raise conflict("De begeleider bewaakt het proces en kan geen inbrenger zijn.", "facilitator_not_inbrenger")
        case = self.conn.execute(
            "SELECT id FROM cases WHERE room_id = ? AND participant_id = ?", (room.id, participant.id)
        ).fetchone()
        if case is not None:
            self._choose_case(room, case["id"])
        else:
            room.case_id = None
            room.inbrenger_id = participant.id
            room.question_original = None
            room.question_reformulated = None
        # Appointing someone settles a tie as well: no tie banner or buttons stay behind.
        room.vote_tie = []
        return ("inbrenger",)

    def cmd_vote_close(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_step(room, vote=True)
        if room.vote_closed:
            raise conflict("De stemming is al gesloten.", "vote_closed")
        if not self._vote_counts(room):
            raise conflict("Er is nog niet gestemd.", "no_votes")
        winner = self._tally_winner(room)
        return ("vote", "inbrenger") if winner else ("vote", "vote.tie")

    def cmd_vote_reopen(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_step(room, vote=True)
        room.vote_closed = False
        room.vote_tie = []
        return ("vote",)

    def cmd_vote_decide(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        case_id = args.get("case_id")
        if not room.vote_tie:
            raise conflict("Er is geen gelijke stand om te beslissen.", "no_tie")
        if case_id not in room.vote_tie:
            raise bad_request("Kies een van de casussen met de meeste stemmen.", "invalid")
        self._choose_case(room, case_id)
        return ("vote", "inbrenger")

    def cmd_case_submit(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_step(room, "case_round")
        if room.vote_closed:
            raise conflict("De keuze is al gemaakt; casussen liggen vast.", "vote_closed")
        title = clean_text(args.get("title"), "Titel", MAX_TITLE)
        question = clean_text(args.get("question"), "Vraag", MAX_QUESTION, multiline=True)
        self.conn.execute(
            """INSERT INTO cases (id, room_id, participant_id, title, question, created_at) VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (room_id, participant_id) DO UPDATE SET title = excluded.title, question = excluded.question""",
            (tokens.new_id(), room.id, actor.id, title, question, now),
        )
        if room.inbrenger_id == actor.id:
            # Appointed by the facilitator before they wrote their case: it is the session's case now.
            row = self.conn.execute(
                "SELECT id FROM cases WHERE room_id = ? AND participant_id = ?", (room.id, actor.id)
            ).fetchone()
            self._choose_case(room, row["id"])
            return ("cases", "question")
        return ("cases",)

    def cmd_case_withdraw(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_step(room, "case_round")
        if room.vote_closed:
            raise conflict("De keuze is al gemaakt; casussen liggen vast.", "vote_closed")
        deleted = self.conn.execute("DELETE FROM cases WHERE room_id = ? AND participant_id = ?", (room.id, actor.id))
        if deleted.rowcount == 0:
            raise not_found("Je hebt geen casus ingebracht.", "unknown_case")
        return ("cases",)

    def cmd_vote_cast(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_step(room, vote=True)
        if room.vote_closed:
            raise conflict("De stemming is gesloten.", "vote_closed")
        case_id = args.get("case_id")
        row = (
            self.conn.execute("SELECT id FROM cases WHERE id = ? AND room_id = ?", (case_id, room.id)).fetchone()
            if isinstance(case_id, str)
            else None
        )
        if row is None:
            raise not_found("Deze casus bestaat niet.", "unknown_case")
        self.conn.execute(
            """INSERT INTO votes (room_id, voter_id, case_id) VALUES (?, ?, ?)
               ON CONFLICT (room_id, voter_id) DO UPDATE SET case_id = excluded.case_id""",
            (room.id, actor.id, case_id),
        )
        return ("vote",)

    def cmd_reformulate(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        self._require_step(room, "reformulate", "explanation")
        room.question_reformulated = clean_text(args.get("text"), "Vraag", MAX_QUESTION, multiline=True)
        return ("question",)

    def cmd_takeaway(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        if room.status == WAITING:
            raise conflict("De sessie is nog niet begonnen.", "not_started")
        text = clean_text(args.get("text"), "Tekst", MAX_TAKEAWAY, required=False, multiline=True)
        shared = args.get("shared", False)
        if not isinstance(shared, bool):
            raise bad_request("shared moet true of false zijn", "invalid")
        if not text:
            self.conn.execute("DELETE FROM takeaways WHERE room_id = ? AND participant_id = ?", (room.id, actor.id))
        else:
            self.conn.execute(
                """INSERT INTO takeaways (room_id, participant_id, text, shared, updated_at) VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (room_id, participant_id) DO UPDATE
                   SET text = excluded.text, shared = excluded.shared, updated_at = excluded.updated_at""",
                (room.id, actor.id, text, int(shared), now),
            )
        return ("takeaways",)

    def cmd_mute(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        participant = self._participant_arg(room, args)
        muted = args.get("muted", True)
        if not isinstance(muted, bool):
            raise bad_request("muted moet true of false zijn", "invalid")
        participant.mic_muted_by = FACILITATOR if muted else None
        room.save_participant(self.conn, participant)
        return ("media",)

    def cmd_camera(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        participant = self._participant_arg(room, args)
        off = args.get("off", True)
        if not isinstance(off, bool):
            raise bad_request("off moet true of false zijn", "invalid")
        participant.camera_off = off
        room.save_participant(self.conn, participant)
        return ("media",)

    def cmd_lock(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        locked = args.get("locked", True)
        if not isinstance(locked, bool):
            raise bad_request("locked moet true of false zijn", "invalid")
        if locked:
            self._require_running(room)
            self.conn.execute(
                "INSERT INTO room_locks (room_id, locked_at) VALUES (?, ?) ON CONFLICT DO NOTHING", (room.id, now)
            )
        else:
            self.conn.execute("DELETE FROM room_locks WHERE room_id = ?", (room.id,))
        room.locked = locked
        return ("participants",)

    def cmd_remove(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        participant = self._participant_arg(room, args)
        if participant.role == FACILITATOR:
            raise conflict("De begeleider kan niet verwijderd worden.", "facilitator_stays")
        if participant.id == room.inbrenger_id and room.status == RUNNING:
            raise conflict("Dit is de inbrenger. Kies eerst een andere inbrenger.", "is_inbrenger")
        # The old token can never match again; browsers that had it are forgotten.
        self.conn.execute(
            "UPDATE participants SET token_hash = ? WHERE id = ?", (tokens.token_hash(tokens.new_token()), participant.id)
        )
        self.conn.execute("DELETE FROM browser_rooms WHERE participant_id = ?", (participant.id,))
        self.conn.execute(
            "INSERT INTO removed_participants (participant_id, room_id, removed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (participant.id, room.id, now),
        )
        participant.removed = True
        return ("participants", "media")

    def cmd_self_mic(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        muted = args.get("muted")
        if not isinstance(muted, bool):
            raise bad_request("muted moet true of false zijn", "invalid")
        if not muted:
            from .media.gates import mic_open_by_policy

            if not mic_open_by_policy(room.media_view(), actor.id):
                raise conflict("In deze stap staat jouw microfoon dicht.", "mic_closed_by_step")
            actor.mic_muted_by = None
        elif actor.mic_muted_by is None:
            actor.mic_muted_by = "self"
        room.save_participant(self.conn, actor)
        return ("media",)

    # ---------------------------------------------------------- small signals
    def _flag(self, args: dict, key: str) -> bool:
        value = args.get(key)
        if not isinstance(value, bool):
            raise bad_request(f"{key} moet true of false zijn", "invalid")
        return value

    def cmd_hand(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        signals.set_signal(self.conn, room.id, actor.id, signals.HAND, self._flag(args, "up"), now)
        return ("hand",)

    def cmd_hand_lower(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        participant = self._participant_arg(room, args)
        signals.set_signal(self.conn, room.id, participant.id, signals.HAND, False, now)
        return ("hand",)

    def cmd_help(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        signals.set_signal(self.conn, room.id, actor.id, signals.HELP, self._flag(args, "on"), now)
        return ("help",)

    def cmd_help_clear(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        participant = self._participant_arg(room, args)
        signals.set_signal(self.conn, room.id, participant.id, signals.HELP, False, now)
        return ("help",)

    def cmd_camera_self(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        signals.set_signal(self.conn, room.id, actor.id, signals.CAMERA_SELF_OFF, self._flag(args, "off"), now)
        return ("media",)

    def cmd_media_report(self, room: Room, actor: Participant, args: dict, now: float) -> tuple[str, ...]:
        """What the page itself knows about its media: ``{"webrtc": false}`` when the browser cannot call."""
        signals.set_signal(self.conn, room.id, actor.id, signals.NO_WEBRTC, not self._flag(args, "webrtc"), now)
        return ("media.status",)


def _refusal(name: str, role: str) -> str:
    spec = COMMANDS[name]
    if spec.roles == FAC:
        return "Alleen de begeleider kan dit doen."
    if spec.roles == INB:
        return "Alleen de inbrenger kan dit doen."
    if spec.roles == MEMBERS:
        return "De begeleider brengt zelf geen casus in."
    return "Dit mag jouw rol niet."


COMMANDS: dict[str, Command] = {
    "session.start": Command(PhaseEngine.cmd_start, FAC),
    "step.next": Command(PhaseEngine.cmd_next, FAC),
    "step.previous": Command(PhaseEngine.cmd_previous, FAC),
    "step.goto": Command(PhaseEngine.cmd_goto, FAC),
    "timer.pause": Command(PhaseEngine.cmd_pause, FAC),
    "timer.resume": Command(PhaseEngine.cmd_resume, FAC),
    "timer.add": Command(PhaseEngine.cmd_add_minutes, FAC),
    "session.end": Command(PhaseEngine.cmd_end, FAC),
    "inbrenger.set": Command(PhaseEngine.cmd_set_inbrenger, FAC),
    "vote.close": Command(PhaseEngine.cmd_vote_close, FAC),
    "vote.reopen": Command(PhaseEngine.cmd_vote_reopen, FAC),
    "vote.decide": Command(PhaseEngine.cmd_vote_decide, FAC),
    "participant.mute": Command(PhaseEngine.cmd_mute, FAC),
    "participant.camera": Command(PhaseEngine.cmd_camera, FAC),
    "participant.remove": Command(PhaseEngine.cmd_remove, FAC),
    "room.lock": Command(PhaseEngine.cmd_lock, FAC),
    "case.submit": Command(PhaseEngine.cmd_case_submit, MEMBERS),
    "case.withdraw": Command(PhaseEngine.cmd_case_withdraw, MEMBERS),
    "vote.cast": Command(PhaseEngine.cmd_vote_cast, ANY),
    "question.reformulate": Command(PhaseEngine.cmd_reformulate, INB),
    "takeaway.save": Command(PhaseEngine.cmd_takeaway, ANY, after_end=True),
    "mic.self": Command(PhaseEngine.cmd_self_mic, ANY),
    "camera.self": Command(PhaseEngine.cmd_camera_self, ANY),
    "hand.raise": Command(PhaseEngine.cmd_hand, MEMBERS),
    "hand.lower": Command(PhaseEngine.cmd_hand_lower, FAC),
    "help.signal": Command(PhaseEngine.cmd_help, MEMBERS),
    "help.clear": Command(PhaseEngine.cmd_help_clear, FAC),
    "media.report": Command(PhaseEngine.cmd_media_report, ANY, after_end=True),
    "case.next": Command(PhaseEngine.cmd_case_next, FAC, after_end=True),
}
