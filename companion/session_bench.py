"""``companion bench session``: what one server needs for whole intervisie sessions.

The real server is started as an operator starts it (``companion serve`` with
transcription and the bundled Whisper model) on a temporary data folder.  For
each room a facilitator, an inbrenger and deelnemers join as simulated
participants: aiortc peers on the room WebSocket, no browsers.  Each sends
camera-like video (640x360, 24 fps, about 600 kbps VP8, encoded once and
replayed, as in ``companion bench media``; ``--video off`` for cameras off)
and a microphone that is silent until it speaks.  The facilitator runs the
roddelmodel from the case round to the evaluation with the commands the room
page sends, a few seconds per step; in the advice round every deelnemer says
one Dutch advice (espeak-ng), in turns.

Measured, from /proc, for the server process and for its children (the speech
worker) separately: CPU seconds and mean cores over the session and per step,
and peak resident memory.  The advice-list latency runs from the moment the
last sample of a spoken advice left the speaker's microphone to the moment the
advice is complete in the list pushed to the inbrenger's page.

The baseline, in the same run on the same server: the same rooms with the
same people connected and media flowing, before the session starts (a plain
call: every gate open, nothing transcribed, the model loaded and idle).
That is what the call costs on its own; the session's figure over it is
what running the steps, the speech detection and Whisper add.  A second
server without transcription would measure much the same call again for
twice the run time, so the bench does not start one.

The simulated pages run in this one process and receive every stream a
browser would (RTP and SRTP in Python).  To cost as little as they can, they
count frames from the packets they decrypt instead of running aiortc's jitter
buffers, and their cameras and microphones replay VP8 and Opus encoded before
the run.  On a small or busy machine they still compete with the server and
can fall behind: the output says what share of the frames the other pages
sent reached them in the baseline (a video frame counts only when none of its
packets is missing), how late their event loop ran, whether media connections
were lost, and the load average at the start and the end; read the figures
with those.

Both media forwarders (``serve --media-forwarder frames`` and ``rtp``) are
measured by default, one server after the other, each with its own baseline
and session: the cost per room of each, and frames over rtp.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .front import worker_for
from .media.service import FORWARDERS
from .serve_process import ServerProcess

METHOD = "roddelmodel"
# One advice each, in the words a group might use.  Ordered by how well Whisper base
# understands espeak-ng's Dutch voice (a real voice does better): a short run uses the first.
ADVICES = (
    "Mijn advies is om elke week een vast moment te plannen.",
    "Misschien kun je een collega om hulp vragen bij het project.",
    "Zorg dat je genoeg rust neemt na het werk.",
    "Neem elke middag een korte pauze buiten.",
    "Plan een gesprek met je collega over de verdeling van het werk.",
    "Ik zou eerst met je leidinggevende gaan praten over de werkdruk.",
)
NAMES = ("Daan", "Noor", "Sam", "Eva", "Lotte", "Bram")
# Every deelnemer says a different advice, so the words tell whose it is: a group of up to eight
# (the method works best with five to seven).
MAX_PARTICIPANTS = len(ADVICES) + 2
FACILITATOR, INBRENGER = "Fleur", "Ilse"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ the server's measure
def _stat(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds: user + system)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB: resident now, and the process's own peak."""
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parents[int(name)] = _stat(int(name))[0]
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


@dataclass
class Usage:
    server_cpu: float = 0.0
    worker_cpu: float = 0.0
    server_peak_rss: float = 0.0
    worker_peak_rss: float = 0.0
    total_peak_rss: float = 0.0
    # Per process group ("front", "w0", "w1", ...): {"server_cpu", "speech_cpu", "server_peak_rss", "speech_peak_rss"}.
    groups: dict[str, dict[str, float]] = field(default_factory=dict)


def _cmdline(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()


class Meter:
    """CPU and resident memory of the server's processes, sampled from /proc.

    Server processes: the one ``companion serve`` process, or under ``--workers N`` the front and
    its worker processes. Speech processes (multiprocessing children: the Whisper model and its
    helper) count apart as "worker", as they always did here. Every process belongs to a group:
    ``w<i>`` for worker i and the speech processes under it (``w0`` for a single process),
    ``front`` for the front.

    A thread samples every ``interval`` seconds, so a process that exits between two readings
    still counts with its last CPU figure (a restarted worker is not lost), and peaks are the
    highest sum seen (the kernel's own VmHWM per process is reported too).
    """

    def __init__(self, pid: int, interval: float = 0.25):
        self.pid = pid
        self.interval = interval
        self._lock = threading.Lock()
        # pid -> (group, kind "server"|"speech", CPU seconds at the last reading)
        self._cpu: dict[int, tuple[str, str, float]] = {}
        self._kinds: dict[int, tuple[str, str]] = {}
        self._peaks = Usage()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="meter", daemon=True)

    def start(self) -> "Meter":
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def _kind(self, pid: int, parent_group: str | None) -> tuple[str, str]:
        """(group, kind) of a process, learned once per pid."""
        known = self._kinds.get(pid)
        if known is None:
            argv = _cmdline(pid).split(b"\0")
            if b"--worker" in argv:
                known = (f"w{int(argv[argv.index(b'--worker') + 1].split(b',')[0])}", "server")
            elif pid == self.pid:
                several = b"--workers" in argv and int(argv[argv.index(b"--workers") + 1]) > 1
                known = ("front" if several else "w0", "server")
            else:
                known = (parent_group or "w0", "speech")
            self._kinds[pid] = known
        return known

    def sample(self) -> None:
        try:
            ppid_of = {self.pid: None}
            for child in _descendants(self.pid):
                ppid_of[child] = _stat(child)[0]
        except (OSError, IndexError, ValueError):
            ppid_of = {self.pid: None, **{c: None for c in _descendants(self.pid)}}
        readings: dict[int, tuple[str, str, float, float]] = {}
        for pid in sorted(ppid_of, key=lambda p: p != self.pid):  # the root first, then by pid
            try:
                parent = ppid_of.get(pid)
                parent_group = readings[parent][0] if parent in readings else None
                if parent_group == "front":
                    parent_group = None
                group, kind = self._kind(pid, parent_group)
                readings[pid] = (group, kind, _stat(pid)[1], _memory_mb(pid)[0])
            except (OSError, IndexError, ValueError):
                pass  # gone between the listing and the reading
        if self.pid not in readings:
            return
        with self._lock:
            rss: dict[tuple[str, str], float] = {}
            for pid, (group, kind, cpu, mem) in readings.items():
                self._cpu[pid] = (group, kind, cpu)
                rss[(group, kind)] = rss.get((group, kind), 0.0) + mem
            peaks = self._peaks
            server_rss = sum(v for (g, k), v in rss.items() if k == "server")
            speech_rss = sum(v for (g, k), v in rss.items() if k == "speech")
            peaks.server_peak_rss = max(peaks.server_peak_rss, server_rss)
            peaks.worker_peak_rss = max(peaks.worker_peak_rss, speech_rss)
            peaks.total_peak_rss = max(peaks.total_peak_rss, server_rss + speech_rss)
            for (group, kind), value in rss.items():
                figures = peaks.groups.setdefault(group, {})
                figures[f"{kind}_peak_rss"] = max(figures.get(f"{kind}_peak_rss", 0.0), value)

    def reading(self) -> Usage:
        """CPU so far, and the peaks since the last reading (which starts a new window)."""
        self.sample()
        with self._lock:
            usage = Usage(
                server_peak_rss=self._peaks.server_peak_rss,
                worker_peak_rss=self._peaks.worker_peak_rss,
                total_peak_rss=self._peaks.total_peak_rss,
                groups={g: dict(f) for g, f in self._peaks.groups.items()},
            )
            for group, kind, cpu in self._cpu.values():
                if kind == "server":
                    usage.server_cpu += cpu
                else:
                    usage.worker_cpu += cpu
                figures = usage.groups.setdefault(group, {})
                figures[f"{kind}_cpu"] = figures.get(f"{kind}_cpu", 0.0) + cpu
            self._peaks = Usage()
        return usage

    def cpu(self) -> tuple[float, float]:
        """(server, speech) CPU seconds so far; leaves the peak window alone."""
        self.sample()
        with self._lock:
            server = sum(cpu for _, kind, cpu in self._cpu.values() if kind == "server")
            speech = sum(cpu for _, kind, cpu in self._cpu.values() if kind == "speech")
        return server, speech

    def lifetime_peaks(self) -> dict[str, Any]:
        """The kernel's own peak resident size (VmHWM) of the server and of each child, since it started."""
        try:
            server = _memory_mb(self.pid)[1]
        except OSError:
            server = 0.0
        children = []
        for child in _descendants(self.pid):
            try:
                command = _cmdline(child).replace(b"\0", b" ").decode(errors="replace").strip()
                children.append({"command": command[:100], "peak_rss_mb": round(_memory_mb(child)[1], 1)})
            except OSError:
                pass
        return {"server_mb": round(server, 1), "children": children}


def window_figures(start: Usage, end: Usage, seconds: float) -> dict[str, Any]:
    server = end.server_cpu - start.server_cpu
    worker = end.worker_cpu - start.worker_cpu
    wall = max(seconds, 1e-6)
    return {
        "seconds": round(seconds, 1),
        "cpu_seconds": {"server": round(server, 2), "worker": round(worker, 2), "total": round(server + worker, 2)},
        "mean_cores": {
            "server": round(server / wall, 3),
            "worker": round(worker / wall, 3),
            "total": round((server + worker) / wall, 3),
        },
        "peak_rss_mb": {
            "server": round(end.server_peak_rss, 1),
            "worker": round(end.worker_peak_rss, 1),
            "total": round(end.total_peak_rss, 1),
        },
        # Per process group: each worker (w0, w1, ...: the server process and its speech model), and the front.
        "per_worker": {group: _group_figures(start.groups.get(group, {}), figures, wall)
                       for group, figures in sorted(end.groups.items())},
    }


def _group_figures(start: dict[str, float], end: dict[str, float], wall: float) -> dict[str, Any]:
    server = end.get("server_cpu", 0.0) - start.get("server_cpu", 0.0)
    speech = end.get("speech_cpu", 0.0) - start.get("speech_cpu", 0.0)
    return {
        "mean_cores": {"server": round(server / wall, 3), "speech": round(speech / wall, 3)},
        "peak_rss_mb": {"server": round(end.get("server_peak_rss", 0.0), 1),
                        "speech": round(end.get("speech_peak_rss", 0.0), 1)},
    }


# ------------------------------------------------------------------ the simulated room
@dataclass
class Member:
    name: str
    role: str
    pid: str
    page: Any  # RoomPage
    track: Any  # SpeakingReplayTrack
    advice: str | None = None
    said_at: float | None = None  # monotonic: the last sample of the advice left the microphone


@dataclass
class SimRoom:
    room_id: str
    facilitator: Member
    inbrenger: Member
    deelnemers: list[Member]
    step_log: list[dict] = field(default_factory=list)

    @property
    def members(self) -> list[Member]:
        return [self.facilitator, self.inbrenger, *self.deelnemers]


async def _post(http: Any, url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(url, json=body, headers=headers) as r:
        data = await r.json()
        if r.status != 201:
            raise RuntimeError(f"{url}: {r.status} {data}")
        return data


async def open_room(
    http: Any, base: str, number: int, participants: int, video: list[tuple[bytes, bool]] | None,
    facilitator_token: str | None = None,
) -> SimRoom:
    from .media.page import RoomPage
    from .media.replay import SpeakingReplayTrack, camera_track

    created = await _post(
        http,
        f"{base}/api/rooms",
        {"name": f"Bench {number}", "method": METHOD, "language": "nl", "facilitator_name": FACILITATOR,
         "capacity": max(2, participants - 1)},
        facilitator_token,
    )
    room_id, invite = created["room_id"], created["invite_url"].rsplit("/", 1)[1]
    async with http.get(f"{base}/api/rooms/{room_id}/state", headers={"Authorization": f"Bearer {created['token']}"}) as r:
        facilitator_id = (await r.json())["you"]["id"]
    people = [(FACILITATOR, "facilitator", facilitator_id, created["token"])]
    for i, name in enumerate((INBRENGER, *NAMES[: participants - 2])):
        joined = await _post(http, f"{base}/api/rooms/{room_id}/invites/{invite}/join", {"name": name})
        people.append((name, "inbrenger" if i == 0 else "deelnemer", joined["participant_id"], joined["token"]))
    members = []
    for name, role, pid, token in people:
        track = SpeakingReplayTrack()
        page = RoomPage(
            http, f"{base}/r/{room_id}/ws", {"Authorization": f"Bearer {token}"}, pid,
            audio=track, video=camera_track(video) if video else None, camera=bool(video), count_packets=True,
        )
        members.append(Member(name, role, pid, page, track))
    for member in members:
        await member.page.open()
    return SimRoom(room_id, members[0], members[1], members[2:])


async def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


def media_lost(member: Member) -> bool:
    """The server dropped this page's media connection (on an overloaded machine: ICE consent expired)."""
    pc = member.page.peer.pc
    return bool(member.page.peer.closed_by_server) or (pc is not None and pc.connectionState in ("failed", "closed"))


def frames_received(rooms: list[SimRoom], kind: str) -> int:
    """Frames that reached the simulated pages, counted from the RTP packets each page decrypted: an
    audio packet is a frame; a video frame counts at its last packet, and only when none of its
    packets was missing (the pages send no NACKs, so a gap is a frame lost)."""
    got = sum(n for room in rooms for m in room.members for (_, k), n in m.page.peer.received.items() if k == kind)
    if kind == "video":
        got -= sum(sum(m.page.peer.incomplete.values()) for room in rooms for m in room.members)
    return got


def frames_sent(rooms: list[SimRoom], kind: str) -> int:
    """Frames the simulated pages' microphones (or cameras) handed to their senders, each meant for
    every other page of the room."""
    total = 0
    for room in rooms:
        for m in room.members:
            track = m.track if kind == "audio" else m.page.peer.video
            sent = (track.frames_sent if kind == "audio" else track.sent) if track is not None else 0
            total += sent * (len(room.members) - 1)
    return total


def media_flowing(room: SimRoom, video: bool) -> bool:
    """Every page receives audio (and video, with cameras on) from every other participant."""
    for member in room.members:
        for other in room.members:
            received = member.page.peer.received
            if other is not member and (received[(other.pid, "audio")] < 5 or (video and received[(other.pid, "video")] < 1)):
                return False
    return True


async def run_session(
    room: SimRoom, step_seconds: float, gap: float, clips: dict[str, Any], item_timeout: float, meter: Meter
) -> None:
    """The facilitator runs every step of the method; the others do what the step asks of them."""
    fac, inb = room.facilitator.page, room.inbrenger.page
    steps = fac.state["room"]["method"]["steps"]
    await fac.command("session.start")
    index = 0
    while True:
        # The command's result comes before the new state: act on the step once the page shows it.
        await wait_until(lambda: (fac.state.get("step") or {}).get("index") == index, 15, f"step {index + 1}")
        step = fac.state["step"]
        began, cpu_before = time.monotonic(), meter.cpu()
        kind = step.get("kind")
        if kind == "case_round":
            await inb.command("case.submit", title="Te veel ja zeggen", question="Hoe zeg ik vaker nee tegen extra werk?")
            await room.deelnemers[0].page.command(
                "case.submit", title="Lastig overleg", question="Hoe houd ik het teamoverleg kort?"
            )
        if step.get("has_vote"):
            await wait_until(lambda: any(c["author_id"] == room.inbrenger.pid for c in fac.state.get("cases", [])), 10, "the cases")
            case_id = next(c["id"] for c in fac.state["cases"] if c["author_id"] == room.inbrenger.pid)
            for member in room.members:
                await member.page.command("vote.cast", case_id=case_id)
        if kind == "reformulate":
            await inb.command("question.reformulate", text="Hoe bewaak ik mijn grenzen zonder collega's af te vallen?")
        if kind == "advice":
            await advice_round(room, gap, clips, item_timeout)
        if kind == "evaluation":
            for member in room.members:
                await member.page.command("takeaway.save", text="Ik neem mee: eerst vragen, dan pas helpen.", shared=True)
        await asyncio.sleep(max(0.0, step_seconds - (time.monotonic() - began)))
        seconds, cpu_after = time.monotonic() - began, meter.cpu()
        room.step_log.append({
            "step": step.get("id"), "kind": kind, "seconds": round(seconds, 1),
            # With several rooms these are the whole server's, while this room was in this step.
            "server_cores": round((cpu_after[0] - cpu_before[0]) / seconds, 3),
            "worker_cores": round((cpu_after[1] - cpu_before[1]) / seconds, 3),
            "media_lost": sum(media_lost(m) for m in room.members),
        })
        index += 1
        if index >= len(steps):
            break
        await fac.command("step.next")
    await fac.command("session.end")


def advice_items(room: SimRoom) -> list[dict]:
    return (room.inbrenger.page.state.get("advice") or {}).get("items", [])


async def advice_round(room: SimRoom, gap: float, clips: dict[str, Any], item_timeout: float) -> None:
    """Each deelnemer says one advice, after the one before has finished and a short pause.

    ``item_timeout`` 0: do not wait for the advice list (a server without transcription).
    """
    for member in room.deelnemers:
        said = len(member.track.finished)
        duration = member.track.say(clips[member.advice])
        await wait_until(
            lambda: len(member.track.finished) > said or media_lost(member), duration + 60, f"{member.name}'s microphone"
        )
        if media_lost(member):
            continue  # counted as lost; the advice is missing from the list
        member.said_at = member.track.finished[-1]
        await asyncio.sleep(gap)
    if item_timeout <= 0:
        return
    # The facilitator waits for the list, as a real one would before moving on.
    speakers = {m.pid for m in room.deelnemers}
    try:
        await wait_until(
            lambda: speakers <= {item["participant_id"] for item in advice_items(room)}, item_timeout, "the advice list"
        )
    except RuntimeError:
        pass  # reported as items missing


def advice_figures(room: SimRoom) -> dict[str, Any]:
    """Which advice came back attributed to whom, and how long after it was said it reached the inbrenger.

    An item is the speaker's when it is under their name and shares more of
    the longer words with their sentence than with anyone else's.  The advice
    has arrived when the speaker's items first read as they finally do: a
    sentence the speech detector cut in two, or a continuation added to an
    item, is only complete with its last part.
    """
    from .speech.filters import normalise
    from .speech.wer import wer

    items = advice_items(room)
    spoken = {m.pid: m.advice or "" for m in room.deelnemers}

    def content(text: str) -> set[str]:
        # Short words ("je", "een", "met") are in every advice and tell nothing about whose it is.
        return {word for word in normalise(text).split() if len(word) >= 4}

    words = {pid: content(text) for pid, text in spoken.items()}

    def said_by(text: str) -> set[str]:
        """The deelnemers whose sentence shares most words with this text (none if it shares none)."""
        heard = content(text)
        best = max(len(heard & w) for w in words.values())
        return {pid for pid, w in words.items() if best and len(heard & w) == best}

    def text_of(state_items: list[dict], pid: str) -> str:
        """What the list holds of this speaker's advice (their items that carry their words)."""
        return " ".join(item["text"] for item in state_items if item["participant_id"] == pid and pid in said_by(item["text"]))

    page = room.inbrenger.page
    latencies: list[float] = []
    found, word_errors = 0, []
    for member in room.deelnemers:
        own = [item for item in items if item["participant_id"] == member.pid and member.pid in said_by(item["text"])]
        if not own or member.said_at is None:
            continue
        found += 1
        final = text_of(own, member.pid)
        arrived = next(
            at for state, at in zip(page.states, page.state_times)
            if text_of((state.get("advice") or {}).get("items", []), member.pid) == final
        )
        latencies.append(arrived - member.said_at)
        word_errors.append(wer(spoken[member.pid], final))
    # An item whose words match nobody's advice cannot be judged: counted apart, not as wrong.
    unclear = [item for item in items if not said_by(item["text"])]
    wrong = sum(1 for item in items if item not in unclear and item["participant_id"] not in said_by(item["text"]))
    return {
        "expected": len(spoken),
        "found": found,
        "items": len(items),
        "wrongly_attributed": wrong,
        "unclear": len(unclear),
        "latencies": latencies,
        "word_error_rate": round(statistics.mean(word_errors), 3) if word_errors else None,
        "texts": [{"speaker": item["speaker"], "text": item["text"]} for item in items],
        # Speech kept out of the list, per reason, as the inbrenger's page shows it.
        "set_aside": _set_aside_counts(room),
    }


def _set_aside_counts(room: SimRoom) -> dict[str, int]:
    counts: dict[str, int] = {}
    for piece in (room.inbrenger.page.state.get("advice") or {}).get("set_aside", []):
        counts[piece["reason"]] = counts.get(piece["reason"], 0) + 1
    return counts


class Lag:
    """How late this process's event loop wakes up, and how long the server takes to answer /healthz.

    A busy machine shows here first: a late client loop cannot answer the
    server's ICE consent checks, a slow /healthz means the server's own loop is held up.
    """

    def __init__(self, base: str):
        self.base = base
        self.loop_max = 0.0
        self.http_max = 0.0
        self._task: asyncio.Task | None = None

    def start(self, http: Any) -> None:
        self._task = asyncio.ensure_future(self._run(http))

    async def _run(self, http: Any) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.5)
            self.loop_max = max(self.loop_max, time.monotonic() - before - 0.5)
            before = time.monotonic()
            try:
                async with http.get(self.base + "/healthz") as r:
                    await r.read()
            except Exception:
                pass
            self.http_max = max(self.http_max, time.monotonic() - before)

    def reading(self) -> dict[str, float]:
        """The worst since the last reading."""
        figures = {"client_loop_late_max_s": round(self.loop_max, 2), "server_healthz_max_s": round(self.http_max, 2)}
        self.loop_max = self.http_max = 0.0
        return figures

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# ------------------------------------------------------------------ the run
async def bench(args: argparse.Namespace, server: ServerProcess, meter: Meter) -> dict[str, Any]:
    import aiohttp

    from .media.replay import encode_speech, encode_video
    from .speech.audiofile import espeak

    # Encoded before the run, as the camera is: the simulated microphones only replay them.
    clips = {text: encode_speech(espeak(text, "nl")) for text in ADVICES}
    # The pages' ICE consent as lenient as the server's own: on a machine this busy a late consent
    # answer would otherwise drop a page's media after 30 s, and the bench would measure fewer pages.
    from .media import hooks

    hooks.relax_ice_consent()
    video = encode_video() if args.video == "camera" else None
    out: dict[str, Any] = {
        "rooms": args.rooms,
        "participants": args.participants,
        "method": METHOD,
        "step_seconds": args.step_seconds,
        "transcription": not args.no_transcription,
        "video": args.video,
        "cpu_count": os.cpu_count(),
        "workers": args.workers,
        "forwarder": args.forwarder,
        "loadavg_start": args.loadavg_start,
        "idle_rss_mb": args.idle_rss_mb,
    }
    async with aiohttp.ClientSession() as http:
        lag = Lag(server.base)
        lag.start(http)
        rooms = [await open_room(http, server.base, n + 1, args.participants, video, server.facilitator_token)
                 for n in range(args.rooms)]
        try:
            for room in rooms:
                for i, member in enumerate(room.deelnemers):
                    member.advice = ADVICES[i % len(ADVICES)]
            try:
                await wait_until(lambda: all(media_flowing(r, video is not None) for r in rooms), 60, "media")
            except RuntimeError:
                return _too_busy(out, rooms, "media did not reach every simulated page within 60 s")

            # Baseline: the same people in the same rooms, a plain call, nothing transcribed.
            meter.reading()
            client0 = _own_cpu()
            audio0, video0 = frames_received(rooms, "audio"), frames_received(rooms, "video")
            sent0 = {kind: frames_sent(rooms, kind) for kind in ("audio", "video")}
            start, began = meter.reading(), time.monotonic()
            lag.reading()
            await asyncio.sleep(args.baseline_seconds)
            out["baseline"] = window_figures(start, meter.reading(), time.monotonic() - began) | lag.reading()
            out["baseline"]["clients_cores"] = round((_own_cpu() - client0) / out["baseline"]["seconds"], 3)
            # What reached the simulated pages: 50 audio and 24 video frames per stream and second when
            # the clients keep up; much less means the machine is too busy for this many participants.
            streams = args.rooms * args.participants * (args.participants - 1) * out["baseline"]["seconds"]
            out["baseline"]["audio_fps_per_stream"] = round((frames_received(rooms, "audio") - audio0) / streams, 1)
            out["baseline"]["video_fps_per_stream"] = round((frames_received(rooms, "video") - video0) / streams, 1)
            out["baseline"]["frames_delivered"] = {
                "audio": frames_received(rooms, "audio") - audio0, "video": frames_received(rooms, "video") - video0}
            # What the pages received of what the other pages sent them (1.0: everything), end to end.
            for kind, got0 in (("audio", audio0), ("video", video0)):
                sent = frames_sent(rooms, kind) - sent0[kind]
                out["baseline"][f"{kind}_delivered_ratio"] = (
                    round((frames_received(rooms, kind) - got0) / sent, 3) if sent else None)
            if any(media_lost(m) for room in rooms for m in room.members) or out["baseline"]["audio_fps_per_stream"] < 25:
                # A session on dead connections measures an idle server: say so now, not in four minutes.
                return _too_busy(
                    out, rooms, f"only {out['baseline']['audio_fps_per_stream']} of 50 audio frames per stream and second"
                    " reached the simulated pages in the baseline"
                )

            start, began, client0 = meter.reading(), time.monotonic(), _own_cpu()
            item_timeout = 0 if args.no_transcription else args.item_timeout
            try:
                await asyncio.gather(
                    *(run_session(room, args.step_seconds, args.gap, clips, item_timeout, meter) for room in rooms)
                )
            except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError) as exc:
                # A page's socket closed by the server (its heartbeat unanswered) or a step that never came.
                return _too_busy(out, rooms, f"a simulated page lost the session ({type(exc).__name__}: {exc})")
            out["session"] = window_figures(start, meter.reading(), time.monotonic() - began) | lag.reading()
            out["session"]["clients_cores"] = round((_own_cpu() - client0) / out["session"]["seconds"], 3)
            out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
            out["lifetime_peak_rss"] = meter.lifetime_peaks()
            out["media_connections_lost"] = sum(media_lost(m) for room in rooms for m in room.members)
        finally:
            await lag.stop()
            for room in rooms:
                for member in room.members:
                    await member.page.close()
    if "error" in out:
        return out
    figures = [advice_figures(room) for room in rooms]
    latencies = [x for f in figures for x in f["latencies"]]
    out["advice"] = {
        "expected": sum(f["expected"] for f in figures),
        "found": sum(f["found"] for f in figures),
        "items": sum(f["items"] for f in figures),
        "wrongly_attributed": sum(f["wrongly_attributed"] for f in figures),
        "unclear": sum(f["unclear"] for f in figures),
        "latency_seconds": {
            "p50": _round(percentile(latencies, 50)),
            "p95": _round(percentile(latencies, 95)),
            "max": _round(max(latencies, default=None)),
            "all": [round(x, 2) for x in latencies],
        },
        "word_error_rate": figures[0]["word_error_rate"] if len(figures) == 1 else None,
        "set_aside": {
            reason: sum(f["set_aside"].get(reason, 0) for f in figures)
            for reason in sorted({r for f in figures for r in f["set_aside"]})
        },
        "rooms": [
            {"room": n + 1, "room_id": room.room_id, "worker": worker_for(room.room_id, args.workers) if args.workers > 1 else 0,
             "latency_seconds": [round(x, 2) for x in f["latencies"]],
             **{k: v for k, v in f.items() if k != "latencies"}}
            for n, (room, f) in enumerate(zip(rooms, figures))
        ],
    }
    out["steps"] = rooms[0].step_log
    base, session = out["baseline"]["mean_cores"]["total"], out["session"]["mean_cores"]["total"]
    out["session_over_baseline_cores"] = round(session - base, 3)
    out["planning"] = planning(out, args.rooms)
    return out


def planning(out: dict[str, Any], rooms: int) -> dict[str, Any]:
    """What the README's planning figures come from: cores and memory per room, rooms per core."""
    session, idle = out["session"], out.get("idle_rss_mb", 0.0)
    per_room = session["mean_cores"]["total"] / rooms
    return {
        "server_cores_per_room": round(per_room, 3),
        "rooms_per_core": round(1 / per_room, 1) if per_room > 0 else None,
        "fixed_memory_mb": round(idle, 0),
        "memory_mb_per_room": round(max(0.0, session["peak_rss_mb"]["total"] - idle) / rooms, 0),
        "how": f"mean CPU of every server process (front, workers, speech models) over the whole session, "
               f"divided by the {rooms} room(s); memory: the peak resident total in the session minus the total "
               f"with no room open ({idle:.0f} MB: workers and their loaded speech models), divided by the rooms",
    }


def per_room_cost(r: dict[str, Any]) -> dict[str, Any]:
    """One run's server cost per room: the call alone (the baseline: media only, the speech model idle)
    and the whole session, with what the simulated pages received in the call."""
    rooms, b = r["rooms"], r["baseline"]
    delivered = sum(b["frames_delivered"].values())
    figures: dict[str, Any] = {
        "call_server_cores": round(b["mean_cores"]["server"] / rooms, 3),
        "call_memory_mb": round(max(0.0, b["peak_rss_mb"]["total"] - r["idle_rss_mb"]) / rooms, 1),
        # Comparable when a starved run forwarded less: server CPU per frame the pages received.
        "call_server_cpu_us_per_delivered_frame":
            round(b["cpu_seconds"]["server"] * 1e6 / delivered, 1) if delivered else None,
        "audio_delivered_ratio": b["audio_delivered_ratio"],
        "video_delivered_ratio": b["video_delivered_ratio"],
        "load": [r["loadavg_start"], r["loadavg_end"]],
    }
    if "planning" in r:
        figures["session_cores"] = r["planning"]["server_cores_per_room"]
        figures["session_memory_mb"] = r["planning"]["memory_mb_per_room"]
    if "error" in r:
        figures["error"] = r["error"]
    return figures


def compare_forwarders(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Cost per room of each forwarder, and frames over rtp, for runs with the same --workers."""
    several = len({r["workers"] for r in results}) > 1
    out: dict[str, Any] = {"per_room": {}}
    for r in results:
        if "baseline" in r and "frames_delivered" in r["baseline"]:
            out["per_room"][r["forwarder"] + (f" --workers {r['workers']}" if several else "")] = per_room_cost(r)
    for workers in sorted({r["workers"] for r in results}):
        suffix = f" --workers {workers}" if several else ""
        frames, rtp = out["per_room"].get("frames" + suffix), out["per_room"].get("rtp" + suffix)
        if not frames or not rtp:
            continue
        for key in ("call_server_cores", "call_server_cpu_us_per_delivered_frame", "session_cores"):
            if frames.get(key) and rtp.get(key):
                out[f"frames_over_rtp_{key}{suffix.replace(' --workers ', '_workers_')}"] = round(frames[key] / rtp[key], 2)
    out["how"] = ("per room: the server process's mean cores in the baseline call (media only, speech model idle), "
                  "and over the whole session (speech included); memory: peak resident total minus the total with "
                  "no room open; delivered ratio: frames the simulated pages received (video frames only when whole) "
                  "over the frames the other pages sent them, in the baseline")
    return out


def forwarder_summary(c: dict[str, Any]) -> str:
    lines = ["cost per room, by media forwarder:"]
    for name, f in c["per_room"].items():
        line = (f"  {name:7s} call {f['call_server_cores']:.3f} cores ({f['call_server_cpu_us_per_delivered_frame']} us per"
                f" delivered frame), {f['call_memory_mb']:.0f} MB; delivered audio {f['audio_delivered_ratio']},"
                f" video {f['video_delivered_ratio']}")
        if "session_cores" in f:
            line += f"; session {f['session_cores']:.3f} cores, {f['session_memory_mb']:.0f} MB"
        lines.append(line + f"; load {f['load'][0]} -> {f['load'][1]}" + (" (STOPPED: pages starved)" if "error" in f else ""))
    lines += [f"  {k}: {v}x" for k, v in c.items() if k.startswith("frames_over_rtp")]
    return "\n".join(lines)


def _too_busy(out: dict[str, Any], rooms: list[SimRoom], what: str) -> dict[str, Any]:
    lost = sum(media_lost(m) for room in rooms for m in room.members)
    out["media_connections_lost"] = lost
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    out["error"] = (
        f"the simulated pages could not keep up on this machine: {what}, {lost} media connection(s) lost; "
        "try --video off, fewer --participants, or a machine with nothing else running"
    )
    return out


def _own_cpu() -> float:
    """CPU seconds of this process: the simulated pages (user + system, all threads)."""
    times = os.times()
    return times.user + times.system


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def summary(r: dict[str, Any]) -> str:
    s, b, a = r["session"], r["baseline"], r["advice"]
    lat = a["latency_seconds"]
    lines = [
        f"--media-forwarder {r['forwarder']} --workers {r['workers']}: {r['rooms']} room(s) x {r['participants']} participants, video {r['video']}, roddelmodel, {s['seconds']:.0f} s session"
        f" ({r['step_seconds']:g} s per step), {r['cpu_count']} CPUs, load {r['loadavg_start']} -> {r['loadavg_end']}",
        f"session : server {s['mean_cores']['server']:.2f} cores + speech worker {s['mean_cores']['worker']:.2f}"
        f" = {s['mean_cores']['total']:.2f} cores ({s['cpu_seconds']['total']:.1f} CPU s)",
        f"baseline: {b['mean_cores']['total']:.2f} cores (same people, plain call, nothing transcribed, {b['seconds']:.0f} s)",
        f"memory  : server peak {s['peak_rss_mb']['server']:.0f} MB, speech worker {s['peak_rss_mb']['worker']:.0f} MB,"
        f" together {s['peak_rss_mb']['total']:.0f} MB",
        f"advice  : {a['found']}/{a['expected']} back under the right name ({a['wrongly_attributed']} misattributed,"
        f" {a['unclear']} too garbled to tell),"
        f" latency p50 {lat['p50']} s, p95 {lat['p95']} s, max {lat['max']} s;"
        f" set aside: {a.get('set_aside') or 'nothing'}",
        f"clients : {b['audio_fps_per_stream']} audio and {b['video_fps_per_stream']} video frames per stream and second"
        f" reached the simulated pages in the baseline (50 and 24 when they keep up); they used {s['clients_cores']:.2f}"
        " cores in the session",
    ]
    per_worker = s.get("per_worker", {})
    lines.append("workers : " + "; ".join(
        f"{g} {f['mean_cores']['server']:.2f}+{f['mean_cores']['speech']:.2f} cores,"
        f" {f['peak_rss_mb']['server']:.0f}+{f['peak_rss_mb']['speech']:.0f} MB" for g, f in per_worker.items())
        + " (server + speech model)")
    lines.append("rooms   : " + "; ".join(
        f"room {x['room']} on w{x['worker']}: advice latency {x['latency_seconds']} s" for x in a["rooms"]))
    plan = r["planning"]
    lines.append(f"planning: {plan['server_cores_per_room']:.2f} cores per room ({plan['rooms_per_core']} rooms per core),"
                 f" {plan['fixed_memory_mb']:.0f} MB with no room + {plan['memory_mb_per_room']:.0f} MB per room")
    if r["media_connections_lost"]:
        lines.append(
            f"WARNING : {r['media_connections_lost']} media connection(s) were lost: this machine was too busy for"
            " the simulated participants, so these figures do not show what the server can carry"
        )
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="companion bench session",
        description="Capacity planning: start the real server (with transcription), run complete roddelmodel\n"
        "sessions with simulated participants (no browsers) and print the server's CPU and memory and\n"
        "how long spoken advice takes to reach the inbrenger's advice list.",
        epilog="""What it prints: the mean CPU cores of the server and of its speech worker over the session and per
step; the same for a baseline (the same people in a plain call, nothing transcribed) measured first in
the same run; peak memory; the advice latency (p50, p95, max) and how many advices came back under
the right name.  The simulated pages run on this machine too and need about as much CPU as the
server: run it on an otherwise idle machine, and trust the figures only when the "clients" line says
they kept up (about 50 audio and 24 video frames per stream and second) and no connection was lost.
When they cannot keep up in the baseline already, it stops there with exit status 1.""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--rooms", type=int, default=1, help="rooms in session at the same time on the one server (default 1)")
    p.add_argument(
        "--participants", type=int, default=6,
        help=f"people per room, facilitator and inbrenger included; the rest speak one advice each (default 6, at most {MAX_PARTICIPANTS})",
    )
    p.add_argument("--step-seconds", type=float, default=10.0, help="seconds per step (default 10); the advice round "
                   "lasts at least until every deelnemer has spoken and the list is complete")
    p.add_argument("--gap", type=float, default=1.5, help="pause between two speakers in the advice round, seconds (default 1.5)")
    p.add_argument("--baseline-seconds", type=float, default=15.0,
                   help="length of the baseline: everyone connected, media flowing, nothing transcribed (default 15)")
    p.add_argument("--item-timeout", type=float, default=120.0,
                   help="longest wait in the advice round for the advice list to be complete (default 120 s)")
    p.add_argument(
        "--video", choices=["camera", "off"], default="camera",
        help="camera: every page sends camera-like video (640x360, 24 fps, 600 kbps VP8, the room page's cap); "
        "off: cameras off, audio only (default camera)",
    )
    p.add_argument("--no-transcription", action="store_true", help="run the server without the speech model")
    p.add_argument("--asr-threads", type=int, default=2, help="CPU threads for the speech model, as companion serve (default 2)")
    p.add_argument(
        "--workers", default="1", metavar="N[,N...]",
        help="worker processes of the server (companion serve --workers N; default 1); several, e.g. 1,2: one run "
        "each, back to back on the same machine, printed together",
    )
    p.add_argument(
        "--forwarder", default="frames,rtp", metavar="NAME[,NAME]",
        help="the server's media forwarder (companion serve --media-forwarder): rtp, frames, or both "
        "(default frames,rtp: one run each, back to back, with the cost per room of each and their ratio)",
    )
    p.add_argument("--keep", type=Path, help="keep the server's data folder and log here instead of a temporary folder")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not 1 <= args.rooms <= 20:
        p.error("--rooms must be between 1 and 20")
    if not 3 <= args.participants <= MAX_PARTICIPANTS:
        p.error(f"--participants must be between 3 and {MAX_PARTICIPANTS}")
    if args.step_seconds < 0 or args.gap < 0 or args.baseline_seconds <= 0:
        p.error("--step-seconds and --gap must be 0 or more, --baseline-seconds more than 0")
    try:
        counts = [int(x) for x in str(args.workers).split(",")]
    except ValueError:
        counts = []
    if not counts or not all(1 <= n <= 64 for n in counts):
        p.error("--workers: one or more numbers 1..64, separated by commas")
    forwarders = [x.strip() for x in str(args.forwarder).split(",")]
    if not all(x in FORWARDERS for x in forwarders) or len(set(forwarders)) != len(forwarders):
        p.error(f"--forwarder: {' or '.join(FORWARDERS)}, or both separated by a comma")
    results = []
    plan = [(forwarder, count) for forwarder in forwarders for count in counts]
    args.several = len(plan) > 1
    for args.forwarder, args.workers in plan:
        results.append(run_once(args))
        if "error" in results[-1] and not (len(forwarders) > 1 and "baseline" in results[-1]):
            break
    result = results[0] if len(results) == 1 else {"runs": results, "order": "one after the other, in this order"}
    if len(results) > 1 and len(forwarders) > 1:
        result["forwarders"] = compare_forwarders(results)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(summary(r) for r in results if "error" not in r))
        if "forwarders" in result:
            print("\n" + forwarder_summary(result["forwarders"]))
    for r in results:
        if "error" in r:
            print(f"companion bench session: {r['error']} (load {r['loadavg_start']} -> "
                  f"{r['loadavg_end']})", file=sys.stderr)
            return 1
    return 0


def run_once(args: argparse.Namespace) -> dict[str, Any]:
    """One server (``--workers args.workers``) on a fresh data folder, measured through the sessions."""
    with tempfile.TemporaryDirectory(prefix="companion-bench-") as tmp:
        run_name = f"{args.forwarder}-workers-{args.workers}"
        folder = (args.keep / run_name if args.several else args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        extra = ["--workers", str(args.workers), "--asr-threads", str(args.asr_threads),
                 "--media-forwarder", args.forwarder]
        extra += ["--no-transcription"] if args.no_transcription else []
        server = ServerProcess(folder / "data", folder / "server.log", extra)
        args.loadavg_start = [round(x, 2) for x in os.getloadavg()]
        started = time.monotonic()
        server.start()
        # Every worker serving (the front answers /healthz once the first does).
        deadline = time.monotonic() + 300
        while args.workers > 1 and server.log_path.read_text(errors="replace").count(") serves") < args.workers:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("not every worker started:\n" + server.log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        meter = Meter(server.pid).start()
        try:
            startup = time.monotonic() - started
            time.sleep(1.0)
            args.idle_rss_mb = round(meter.reading().total_peak_rss, 1)
            result = asyncio.run(bench(args, server, meter))
            result["server_start_seconds"] = round(startup, 1)
        finally:
            meter.stop()
            server.stop()
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
