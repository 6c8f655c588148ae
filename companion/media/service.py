"""The media layer the room server plugs in: one aiortc peer connection per
participant, encoded frames forwarded as they are, one gate per path.

Design (see docs/protocol.md, "Media" and ../shared/notes/media.md): the server
is always the offerer.  Each participant's connection has two upstream
transceivers (their microphone and camera) and one downstream "slot" per
other participant and kind.  A slot is a long-lived transceiver whose track
the server re-points when people come and go, so a leave or a rejoin costs
no renegotiation; only a room growing past its largest size adds slots.

Frames come out of each receiver's jitter buffer still encoded (hooks.py)
and go straight into the subscribers' slot tracks, which aiortc only
packetizes.  Audio of a transcribed speaker is additionally decoded to
16 kHz for the AudioSink.  ``serve --media-forwarder rtp`` swaps this frame
path for packet forwarding (rtp/forwarder.py); slots, gates and signalling
stay the ones here.

Importing and constructing this module is cheap: aiortc is loaded on the
first ``media.join``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ..audio import AudioSink
from ..errors import ClientError, bad_request, conflict
from .gates import Kind, MediaView, gate_open, transcribed
from .levels import REPORT_INTERVAL, RoomLevels

if TYPE_CHECKING:
    from ..turn import TurnSettings
    from .forward import ForwardTrack
    from .speech_tap import SpeakerDecoder

log = logging.getLogger(__name__)

Send = Callable[[str, str, dict], Awaitable[None]]

MAX_SDP_BYTES = 64 * 1024
KINDS: tuple[Kind, ...] = ("audio", "video")
# At most one keyframe request upstream per source in this many seconds.
PLI_INTERVAL = 0.3
# A video path that waits this long for a keyframe is reported in the log (once per wait).
WAITING_REPORT_S = 5.0
# An offer the page never answers holds a peer connection and its UDP sockets: closed after this.
OFFER_TIMEOUT = 30.0
# Hosts only: the server must not wait on a STUN server it cannot reach.
ICE_SERVERS: list = []


@dataclass
class PathStats:
    packets: int = 0  # encoded frames (av.Packet) handed to the subscriber's sender
    keyframes: int = 0
    dropped_closed: int = 0  # gate closed
    dropped_waiting: int = 0  # gate open, waiting for a keyframe
    dropped_full: int = 0  # subscriber's queue overflowed
    # RTP forwarder only: packets sent again on a subscriber's NACK, and NACKed packets no longer held
    retransmitted: int = 0
    nack_missed: int = 0
    # monotonic time of the first frame after the gate last opened
    resumed_at: float | None = None
    opened_at: float | None = None
    # monotonic time this path began waiting for a keyframe, and whether the operator was told it waits long
    waiting_since: float | None = None
    last_waiting: float = 0.0
    reported_waiting: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "packets": self.packets,
            "keyframes": self.keyframes,
            "dropped_closed": self.dropped_closed,
            "dropped_waiting": self.dropped_waiting,
            "dropped_full": self.dropped_full,
            "retransmitted": self.retransmitted,
            "nack_missed": self.nack_missed,
            "resume_delay": None
            if self.resumed_at is None or self.opened_at is None
            else round(self.resumed_at - self.opened_at, 3),
        }


@dataclass
class _Slot:
    """One downstream transceiver in a subscriber's connection."""

    kind: Kind
    transceiver: Any
    track: "ForwardTrack"
    source: str | None = None
    open: bool = False
    waiting_keyframe: bool = True
    out: Any = None  # the RTP forwarder's outgoing stream state (rtp/forwarder.py)

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid


@dataclass
class _Peer:
    room_id: str
    pid: str
    pc: Any
    upstream: dict[str, Any]  # kind -> transceiver receiving this participant's media
    slots: list[_Slot] = field(default_factory=list)
    slot_for: dict[tuple[str, str], _Slot] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    dirty: bool = False  # needs another offer once the current one is answered
    closed: bool = False
    offers: int = 0
    last_pli: float = 0.0
    plis: int = 0  # keyframe requests sent upstream to this participant
    keyframes: int = 0  # video keyframes received from this participant
    decoder: "SpeakerDecoder | None" = None


@dataclass
class _Room:
    view: MediaView
    peers: dict[str, _Peer] = field(default_factory=dict)
    paths: dict[tuple[str, str, str], PathStats] = field(default_factory=dict)
    transcribing: set[str] = field(default_factory=set)
    # Encoded frames received from each participant, all kinds: is their upstream alive?
    received: dict[str, int] = field(default_factory=dict)
    # Who speaks, from the RFC 6464 levels in their audio packets (the RTP forwarder notes them).
    levels: RoomLevels = field(default_factory=RoomLevels)
    # Bumped whenever a peer comes or goes or a slot changes source: the RTP forwarder's
    # per-source fan-out lists (``fanout``, (source, kind) -> (epoch, targets)) are rebuilt then.
    epoch: int = 0
    fanout: dict[tuple[str, str], Any] = field(default_factory=dict)

    def path(self, source: str, subscriber: str, kind: str) -> PathStats:
        key = (source, subscriber, kind)
        stats = self.paths.get(key)
        if stats is None:
            stats = self.paths[key] = PathStats()
        return stats


class MediaService:
    def __init__(
        self,
        send: Send,
        audio_sink: AudioSink | None = None,
        turn: "TurnSettings | None" = None,
        session_seconds: Callable[[str], float] | None = None,
    ) -> None:
        """``turn``: the relay pages (and with ``server_relay`` the server) may use; ``session_seconds(room_id)``:
        how long the room's session is planned to run, for how long TURN credentials stay valid."""
        self._send = send
        self._sink = audio_sink
        self._turn = turn
        self._session_seconds = session_seconds
        self._rooms: dict[str, _Room] = {}
        self._tasks: set[asyncio.Task] = set()
        self._closing: set[asyncio.Future] = set()
        self._closed = False
        self._levels_task: asyncio.Task | None = None

    # ------------------------------------------------------------ public API
    async def handle(self, room_id: str, participant_id: str, message: dict) -> None:
        kind = message.get("type")
        if kind == "media.join":
            await self._join(room_id, participant_id)
        elif kind == "media.answer":
            await self._on_answer(room_id, participant_id, _sdp_of(message), message.get("seq"))
        elif kind == "media.leave":
            await self._drop(room_id, participant_id)
        elif kind == "media.keyframe":
            peer = self._peer(room_id, participant_id)
            for slot in peer.slots:
                if slot.kind == "video" and slot.source is not None:
                    self._want_keyframe(room_id, slot.source)
        else:
            raise bad_request(f"Onbekend mediabericht: {str(kind)[:40]!r}", "unknown_media_type")

    async def apply_view(self, view: MediaView) -> None:
        room = self._room(view.room_id)
        room.view = view
        if view.participants:
            # Someone removed from the room loses their media with it.
            for pid in [pid for pid in room.peers if pid not in view.participants]:
                await self._drop(view.room_id, pid)
        await self._refresh(room)

    async def participant_gone(self, room_id: str, participant_id: str) -> None:
        await self._drop(room_id, participant_id)

    async def close_room(self, room_id: str) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        for pid in list(room.peers):
            await self._drop(room_id, pid, notify_others=False)
        self._rooms.pop(room_id, None)

    async def close(self) -> None:
        self._closed = True
        for room_id in list(self._rooms):
            await self.close_room(room_id)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def stats(self, room_id: str) -> dict:
        """``{(source, subscriber, kind): {"packets": n, ...}}`` for every path that carried or dropped media."""
        room = self._rooms.get(room_id)
        if room is None:
            return {}
        return {key: stats.as_dict() for key, stats in room.paths.items()}

    def link_counters(self, room_id: str) -> dict[str, dict[str, Any]]:
        """Per participant with a media connection, cumulative counters for media_status:
        ``{"state": connectionState, "received": frames from them, "audio_delivered": audio
        frames handed to their slots, "audio_overflowed": audio frames lost to a full queue}``."""
        room = self._rooms.get(room_id)
        if room is None:
            return {}
        out: dict[str, dict[str, Any]] = {}
        for pid, peer in room.peers.items():
            out[pid] = {"state": peer.pc.connectionState, "received": room.received.get(pid, 0),
                        "audio_delivered": 0, "audio_overflowed": 0}
        for (source, subscriber, kind), stats in room.paths.items():
            entry = out.get(subscriber)
            if entry is not None and kind == "audio":
                entry["audio_delivered"] += stats.packets
                entry["audio_overflowed"] += stats.dropped_full
        return out

    def connected(self, room_id: str) -> set[str]:
        room = self._rooms.get(room_id)
        return set(room.peers) if room else set()

    # ------------------------------------------------------------ rooms and peers
    def _room(self, room_id: str) -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room(view=MediaView(room_id))
        return room

    def _peer(self, room_id: str, pid: str) -> _Peer:
        room = self._rooms.get(room_id)
        peer = room.peers.get(pid) if room else None
        if peer is None:
            raise conflict("Nog geen mediaverbinding: stuur eerst media.join.", "media_not_joined")
        return peer

    async def _join(self, room_id: str, pid: str) -> None:
        if self._closed:
            raise conflict("De server sluit af.", "media_closed")
        room = self._room(room_id)
        if pid in room.peers:
            # A page reconnecting: start clean, the old connection is dead to it.
            await self._drop(room_id, pid, notify_others=False)
        peer = self._new_peer(room_id, pid)
        room.peers[pid] = peer
        room.epoch += 1
        self._report_levels()
        to_offer = [peer]
        for other in list(room.peers.values()):
            if other is peer:
                continue
            if self._assign(other, pid):
                to_offer.append(other)
            self._assign(peer, other.pid)
        await self._refresh(room, force_slots=True)
        for target in to_offer:
            await self._offer(target)

    def _new_peer(self, room_id: str, pid: str) -> _Peer:
        from aiortc import RTCConfiguration, RTCPeerConnection
        from aiortc.rtcconfiguration import RTCBundlePolicy

        from . import hooks

        hooks.check_aiortc()
        hooks.relax_ice_consent()
        # MAX_BUNDLE: with BALANCED, an offer with several video m-lines leaves
        # later ones on a closed transport (aiortc issues 1414, 1437).
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self._server_ice(room_id), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        upstream = {}
        for kind in KINDS:
            transceiver = pc.addTransceiver(kind, direction="recvonly")
            _prefer_codec(transceiver, kind)
            self._tap_upstream(transceiver, room_id, pid, kind)
            upstream[kind] = transceiver
        peer = _Peer(room_id, pid, pc, upstream)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and not peer.closed:
                log.info("media connection of %s/%s %s", room_id, pid, pc.connectionState)
                # On "closed" aiortc is already closing the connection itself.
                await self._drop(room_id, pid, current=peer, close_pc=pc.connectionState != "closed")
                await self._send_safely(room_id, pid, {"type": "media.closed", "reason": pc.connectionState})

        return peer

    def _valid_seconds(self, room_id: str) -> float:
        from ..turn import MARGIN_SECONDS

        planned = 0.0
        if self._session_seconds is not None:
            try:
                planned = self._session_seconds(room_id)
            except Exception:  # a room deleted meanwhile: its pages are about to go anyway
                planned = 0.0
        return planned + MARGIN_SECONDS

    def _page_ice(self, room_id: str, pid: str) -> list[dict[str, Any]]:
        """The page's iceServers: the relay, with credentials for this participant."""
        if self._turn is None:
            return []
        return self._turn.ice_servers(pid, self._valid_seconds(room_id))

    def _server_ice(self, room_id: str) -> list:
        if self._turn is None or not self._turn.server_relay:
            return ICE_SERVERS
        from aiortc import RTCIceServer

        # aioice uses one TURN server: the first URL it can speak.
        return [RTCIceServer(urls=s["urls"], username=s["username"], credential=s["credential"])
                for s in self._turn.ice_servers("server", self._valid_seconds(room_id))]

    def _tap_upstream(self, transceiver: Any, room_id: str, pid: str, kind: Kind) -> None:
        from . import hooks

        hooks.install_frame_tap(transceiver.receiver, self._frame_handler(room_id, pid, kind))

    def _sockets_ready(self, pc: Any) -> None:
        """The connection's UDP sockets exist (after its first offer): a forwarder may hook them."""

    def _feed_slot(self, sub: _Peer, slot: _Slot) -> None:
        """Pass-through slots are fed frame by frame from the source's tap; nothing to wire."""

    def _slot_created(self, sub: _Peer, slot: _Slot) -> None:
        """A new downstream transceiver, before its first negotiation."""

    def _assign(self, sub: _Peer, source: str) -> bool:
        """Give ``source`` a slot of each kind in ``sub``'s connection; True when that needs an offer."""
        from . import hooks
        from .forward import ForwardTrack

        needs_offer = False
        for kind in KINDS:
            if (source, kind) in sub.slot_for:
                continue
            slot = next((s for s in sub.slots if s.kind == kind and s.source is None), None)
            if slot is None:
                track = ForwardTrack(kind)
                transceiver = sub.pc.addTransceiver(track, direction="sendonly")
                _prefer_codec(transceiver, kind)
                slot = _Slot(kind, transceiver, track)
                hooks.route_keyframe_requests(transceiver.sender, self._keyframe_router(sub.room_id, slot))
                self._slot_created(sub, slot)
                sub.slots.append(slot)
                needs_offer = True
            slot.source = source
            slot.open = False
            slot.waiting_keyframe = True
            slot.track.clear()
            sub.slot_for[(source, kind)] = slot
            self._rooms[sub.room_id].epoch += 1
            self._feed_slot(sub, slot)
        return needs_offer

    async def _drop(
        self, room_id: str, pid: str, notify_others: bool = True, current: _Peer | None = None, close_pc: bool = True
    ) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        peer = room.peers.get(pid)
        if peer is None or (current is not None and peer is not current):
            return
        del room.peers[pid]
        room.epoch += 1
        peer.closed = True
        room.levels.forget(pid)
        self._stop_transcribing(room, pid)
        for slot in peer.slots:
            slot.track.stop()
        for other in room.peers.values():
            for kind in KINDS:
                slot = other.slot_for.pop((pid, kind), None)
                if slot is not None:
                    slot.source = None
                    slot.open = False
                    slot.track.clear()
        if close_pc:
            # A closing connection must finish even when our caller is
            # cancelled (a WebSocket handler at shutdown): aiortc's close()
            # breaks if the future it waits on is cancelled under it.
            closing = asyncio.ensure_future(self._close_pc(peer.pc))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
            await asyncio.shield(closing)
        if notify_others:
            for other in list(room.peers.values()):
                await self._send_slots(other)

    @staticmethod
    async def _close_pc(pc: Any) -> None:
        try:
            await pc.close()
        except Exception:
            log.exception("closing a media connection failed")

    # ------------------------------------------------------------ signalling
    async def _offer(self, peer: _Peer) -> None:
        async with peer.lock:
            if peer.closed:
                return
            if peer.pc.signalingState != "stable":
                peer.dirty = True
                return
            peer.dirty = False
            await peer.pc.setLocalDescription(await peer.pc.createOffer())
            if peer.offers == 0:
                from . import hooks

                hooks.widen_receive_buffers(peer.pc)
                self._sockets_ready(peer.pc)
            peer.offers += 1
            message = {
                "type": "media.offer",
                "seq": peer.offers,
                "sdp": peer.pc.localDescription.sdp,
                "upstream": {kind: t.mid for kind, t in peer.upstream.items()},
                "slots": _slot_list(peer),
                "ice_servers": self._page_ice(peer.room_id, peer.pid),
            }
            self._spawn(self._expire_offer(peer, peer.offers))
        await self._send_safely(peer.room_id, peer.pid, message)

    async def _expire_offer(self, peer: _Peer, seq: int) -> None:
        await asyncio.sleep(OFFER_TIMEOUT)
        if not peer.closed and peer.offers == seq and peer.pc.signalingState == "have-local-offer":
            log.info("media offer not answered within %.0f s: connection closed", OFFER_TIMEOUT)
            await self._drop(peer.room_id, peer.pid, current=peer)
            await self._send_safely(peer.room_id, peer.pid, {"type": "media.closed", "reason": "offer_timeout"})

    async def _on_answer(self, room_id: str, pid: str, sdp: str, seq: Any) -> None:
        from aiortc import RTCSessionDescription

        peer = self._peer(room_id, pid)
        async with peer.lock:
            if peer.pc.signalingState != "have-local-offer":
                raise conflict("Geen openstaand aanbod om te beantwoorden.", "no_offer")
            if seq is not None and seq != peer.offers:
                raise conflict("Antwoord op een oud aanbod.", "stale_answer")
            try:
                await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
            except ClientError:
                raise
            except Exception as exc:
                raise bad_request(f"Onbruikbaar SDP-antwoord: {str(exc)[:120]}", "bad_sdp") from None
        for slot in peer.slots:
            if slot.kind == "video" and slot.source is not None and slot.open:
                slot.waiting_keyframe = True
                self._want_keyframe(room_id, slot.source)
        if peer.dirty:
            await self._offer(peer)

    async def _send_slots(self, peer: _Peer) -> None:
        if peer.closed:
            return
        await self._send_safely(peer.room_id, peer.pid, {"type": "media.slots", "slots": _slot_list(peer)})

    async def _send_safely(self, room_id: str, pid: str, message: dict) -> None:
        try:
            await self._send(room_id, pid, message)
        except Exception:
            log.exception("could not send %s to %s/%s", message.get("type"), room_id, pid)

    # ------------------------------------------------------------ gates
    async def _refresh(self, room: _Room, force_slots: bool = False) -> None:
        view = room.view
        now = time.monotonic()
        changed: list[_Peer] = []
        for sub in room.peers.values():
            sub_changed = force_slots
            for slot in sub.slots:
                is_open = slot.source is not None and gate_open(view, slot.source, sub.pid, slot.kind)
                if is_open == slot.open:
                    continue
                sub_changed = True
                slot.open = is_open
                slot.track.clear()
                if slot.kind == "video":
                    slot.waiting_keyframe = True
                if is_open and slot.source is not None:
                    room.path(slot.source, sub.pid, slot.kind).opened_at = now
                    room.path(slot.source, sub.pid, slot.kind).resumed_at = None
                    if slot.kind == "video":
                        self._want_keyframe(room.view.room_id, slot.source)
            if sub_changed:
                changed.append(sub)
        self._refresh_transcription(room)
        for sub in changed:
            await self._send_slots(sub)

    def _refresh_transcription(self, room: _Room) -> None:
        if self._sink is None:
            return
        wanted = {pid for pid in room.peers if transcribed(room.view, pid)}
        for pid in room.transcribing - wanted:
            self._stop_transcribing(room, pid)
        for pid in wanted - room.transcribing:
            from .speech_tap import SpeakerDecoder

            room.peers[pid].decoder = SpeakerDecoder()
            room.transcribing.add(pid)

    def _stop_transcribing(self, room: _Room, pid: str) -> None:
        if pid not in room.transcribing:
            return
        room.transcribing.discard(pid)
        peer = room.peers.get(pid)
        if peer is not None:
            peer.decoder = None
        if self._sink is not None:
            try:
                self._sink.flush(room.view.room_id, pid)
            except Exception:
                log.exception("audio sink flush failed")

    # ------------------------------------------------------------ forwarding
    def _frame_handler(self, room_id: str, source: str, kind: Kind) -> Callable[[Any, Any], None]:
        from .hooks import is_vp8_keyframe

        def on_frame(codec: Any, frame: Any) -> None:
            room = self._rooms.get(room_id)
            if room is None:
                return
            src = room.peers.get(source)
            if src is None or src.closed:
                return
            room.received[source] = room.received.get(source, 0) + 1
            data: bytes = frame.data
            timestamp: int = frame.timestamp
            if kind == "audio" and src.decoder is not None and self._sink is not None:
                self._transcribe(room_id, src, data, timestamp)
            keyframe = kind == "video" and is_vp8_keyframe(data)
            src.keyframes += keyframe
            want_keyframe = False
            for sub in room.peers.values():
                slot = sub.slot_for.get((source, kind))
                if slot is None or sub is src:
                    continue
                path = room.path(source, sub.pid, kind)
                if not slot.open:
                    path.dropped_closed += 1
                    continue
                if kind == "video" and slot.waiting_keyframe:
                    if not keyframe:
                        path.dropped_waiting += 1
                        want_keyframe = True
                        self._note_waiting(path, room_id, source, sub.pid, src)
                        continue
                    slot.waiting_keyframe = False
                    path.waiting_since = None
                if slot.track.push(data, timestamp):
                    path.packets += 1
                    path.keyframes += keyframe
                    if path.resumed_at is None:
                        path.resumed_at = time.monotonic()
                else:
                    path.dropped_full += 1
                    if kind == "video":
                        slot.waiting_keyframe = True
                        want_keyframe = True
            if want_keyframe:
                self._want_keyframe(room_id, source)

        return on_frame

    def _transcribe(self, room_id: str, src: _Peer, data: bytes, timestamp: int) -> None:
        assert src.decoder is not None and self._sink is not None
        decoded = src.decoder.decode(data, timestamp)
        if decoded is None:
            return
        samples, start = decoded
        try:
            self._sink.push(room_id, src.pid, samples, start)
        except Exception:
            log.exception("audio sink push failed")

    def _keyframe_router(self, room_id: str, slot: _Slot) -> Callable[[], None]:
        def on_request() -> None:
            if slot.source is not None and slot.open:
                self._want_keyframe(room_id, slot.source)

        return on_request

    @staticmethod
    def _note_waiting(path: PathStats, room_id: str, source: str, subscriber: str, src: _Peer) -> None:
        # A subscriber that sees a frozen tile while its source keeps sending: the operator's log says so
        # once per wait, with what the server asked of the source.
        now = time.monotonic()
        if path.waiting_since is None or now - path.last_waiting > 1.0:  # a new wait (a gap: the gate was shut)
            path.waiting_since, path.reported_waiting = now, False
        path.last_waiting = now
        if not path.reported_waiting and now - path.waiting_since > WAITING_REPORT_S:
            path.reported_waiting = True
            log.warning(
                "video %s -> %s in room %s: no keyframe for %.1f s (%d frames held back, %d overflowed; the source got %d keyframe"
                " requests and sent %d keyframes in all)",
                source, subscriber, room_id, now - path.waiting_since, path.dropped_waiting, path.dropped_full, src.plis, src.keyframes,
            )

    def _want_keyframe(self, room_id: str, source: str) -> None:
        room = self._rooms.get(room_id)
        peer = room.peers.get(source) if room else None
        if peer is None or peer.closed:
            return
        now = time.monotonic()
        if now - peer.last_pli < PLI_INTERVAL:
            return
        peer.last_pli = now
        peer.plis += 1
        self._spawn(self._send_pli(peer))

    async def _send_pli(self, peer: _Peer) -> None:
        from .hooks import request_keyframe

        try:
            await request_keyframe(peer.upstream["video"].receiver)
        except Exception as exc:  # a closing transport: nothing to ask any more
            log.debug("keyframe request failed: %s", exc)

    # ------------------------------------------------------------ levels
    def _report_levels(self) -> None:
        """Send ``media.levels`` (docs/protocol.md, "Audio levels") while any room has a media connection."""
        if self._levels_task is None or self._levels_task.done():
            self._levels_task = asyncio.ensure_future(self._levels_loop())
            self._tasks.add(self._levels_task)
            self._levels_task.add_done_callback(self._tasks.discard)

    async def _levels_loop(self) -> None:
        while not self._closed and any(room.peers for room in self._rooms.values()):
            await asyncio.sleep(REPORT_INTERVAL)
            now = time.monotonic()
            sends = []
            for room_id, room in list(self._rooms.items()):
                if not room.levels.sources and not room.peers:
                    continue
                try:
                    reports = room.levels.reports(now, list(room.peers), lambda source, sub, room=room: _hears(room, source, sub))
                except Exception:
                    log.exception("audio levels of room %s", room_id)
                    continue
                sends.extend(self._send_safely(room_id, pid, {"type": "media.levels", "levels": report}) for pid, report in reports)
            if sends:
                await asyncio.gather(*sends)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# How media moves through the server: "rtp" forwards packets (rtp/forwarder.py), "frames" hands
# encoded frames from aiortc's jitter buffer to its packetizer (this module). "frames" stays for one
# release after rtp became the default, so the two can be compared (bench media), then goes.
FORWARDERS = ("rtp", "frames")
DEFAULT_FORWARDER = "rtp"


def media_service(send: Send, forwarder: str = DEFAULT_FORWARDER, **kwargs: Any) -> MediaService:
    """A MediaService of the chosen ``forwarder`` (one of FORWARDERS); ``kwargs`` as MediaService takes."""
    log.info("media forwarder: %s", forwarder)
    if forwarder == "rtp":
        from .rtp.forwarder import RtpForwarder

        return RtpForwarder(send, **kwargs)
    if forwarder != "frames":
        raise ValueError(f"unknown media forwarder {forwarder!r} (one of {', '.join(FORWARDERS)})")
    return MediaService(send, **kwargs)


def _hears(room: _Room, source: str, subscriber: str) -> bool:
    """Is ``source``'s audio forwarded to ``subscriber`` now (their slot is open)?"""
    peer = room.peers.get(subscriber)
    slot = peer.slot_for.get((source, "audio")) if peer is not None else None
    return slot is not None and slot.open


def _sdp_of(message: dict) -> str:
    sdp = message.get("sdp")
    if not isinstance(sdp, str) or not sdp.strip():
        raise bad_request("SDP ontbreekt of is geen tekst.", "bad_sdp")
    if len(sdp.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        raise ClientError(413, "sdp_too_large", "SDP is groter dan 64 KiB.")
    if not sdp.startswith("v=0"):
        raise bad_request("Dit is geen SDP (hoort te beginnen met v=0).", "bad_sdp")
    return sdp


def _slot_list(peer: _Peer) -> list[dict[str, Any]]:
    return [
        {"mid": slot.mid, "kind": slot.kind, "participant": slot.source, "open": slot.open}
        for slot in peer.slots
        if slot.mid is not None
    ]


def _prefer_codec(transceiver: Any, kind: str) -> None:
    """Opus and VP8 only: a forwarded frame must be decodable by every subscriber."""
    from aiortc import RTCRtpSender

    wanted = "audio/opus" if kind == "audio" else "video/VP8"
    codecs = [
        c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() in (wanted.lower(), f"{kind}/rtx")
    ]
    transceiver.setCodecPreferences(codecs)
