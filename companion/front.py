"""``companion serve --workers N``: one front process, N worker processes, each room on one worker.

The front owns the listening socket and nothing else of HTTP.  For each accepted connection it
reads the request line *without consuming it* (``MSG_PEEK``), takes the room id from the path
(``/r/<room>/...``, ``/api/rooms/<room>/...``; docs/protocol.md), picks the worker by a stable hash
of the room id, and passes the connected socket itself to that worker over a Unix socket
(``SCM_RIGHTS``).  The worker hands it to its aiohttp server as if it had accepted it, so every byte
of the request, the WebSocket and the response goes between the browser and the worker directly:
the front is no proxy and copies nothing.  Paths without a room go to the workers in turn.

A connection is routed once, by its first request.  A browser reuses a kept-alive connection for
other paths, possibly of another room, so under a front the workers close each plain HTTP
connection after one response; a WebSocket stays (its upgrade request names its room).

Each worker is a whole server (event loop, media with its own UDP ports, its speech model) with
its own node id in the room leases (``<node id>/w<i>``), kept over a restart: the front starts a
worker that died again under the same id, and it takes its own rooms back at once.  The workers
die with the front (``PR_SET_PDEATHSIG``, and the Unix socket's end).

The front cannot read a path inside TLS: https in the process itself means one worker.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

# How long the front waits for a connection's request line; a connection idle that long is closed
# (a browser's preconnected socket may sit unused for a while before its first request).
PEEK_SECONDS = 60.0
# A request line longer than this goes to any worker (aiohttp refuses it there with a 4xx).
PEEK_BYTES = 8192
# Connections from one client address that have not yet sent their request line: more are closed at
# once. A browser opens a handful at a time; nginx in front sends its request as soon as it connects.
# Without it one client could hold a file descriptor per idle connection for PEEK_SECONDS each.
MAX_UNROUTED_PER_ADDRESS = 256
# How long a connection may wait for a worker that is (re)starting before it gets a 503.
WAIT_FOR_WORKER_SECONDS = 30.0
# A worker that stops is started again after this delay, doubled while it keeps dying young.
RESTART_DELAY = 0.5
RESTART_DELAY_MAX = 30.0
YOUNG_SECONDS = 30.0
# How long the workers get to stop cleanly (media closed, transcription drained, leases released).
STOP_SECONDS = 30.0

BUSY_REPLY = (
    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\n"
    "Content-Type: text/html; charset=utf-8\r\nCache-Control: no-store\r\n\r\n"
    "<!doctype html><meta charset=utf-8><title>companion</title>"
    "<p>De server start net opnieuw. Probeer het over een paar seconden nog eens."
    " / The server is restarting. Try again in a few seconds.</p>"
).encode()

_ROOM_PREFIXES = ("/r/", "/api/rooms/")


def room_in_path(target: str) -> str | None:
    """The room id a request target names (``/r/<room>/...``, ``/api/rooms/<room>/...``), or None.

    ``target`` as in the request line: a path with an optional query, or an absolute URL."""
    if not target.startswith("/"):
        try:
            target = urlsplit(target).path or "/"
        except ValueError:  # e.g. "http://[::1/r/x": not a URL; aiohttp answers it with a 400
            return None
    path = target.split("?", 1)[0].split("#", 1)[0]
    for prefix in _ROOM_PREFIXES:
        if path.startswith(prefix):
            room = unquote(path[len(prefix):].split("/", 1)[0])  # aiohttp's match_info is decoded too
            return room or None
    return None


def worker_for(room_id: str, count: int) -> int:
    """The worker (0..count-1) that serves the room: the same for every process and every start."""
    digest = hashlib.blake2b(room_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def request_target(peeked: bytes) -> str | None:
    """The target of the request line in the first bytes of a connection, or None if it is not one."""
    # Empty lines before the request line are ignored, as aiohttp does (RFC 9112, 2.2).
    line = peeked.lstrip(b"\r\n").split(b"\n", 1)[0].rstrip(b"\r")
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        return None
    return parts[1].decode("latin-1")


# The characters a request line starts with (a method is a token, RFC 9110, 5.6.2).
_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _may_be_request(peeked: bytes) -> bool:
    """False when the first bytes cannot begin an HTTP request (a TLS handshake to the plain port): such
    a connection goes to a worker at once, which answers 400, instead of waiting for a line break."""
    rest = peeked.lstrip(b"\r\n")
    return not rest or rest[0] in _TOKEN


def die_with_parent(parent_pid: int) -> None:
    """A worker ends when its front does, even if the front is killed (SIGTERM from the kernel)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # the channel's end is still watched
    if os.getppid() != parent_pid:  # the front died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


class _Worker:
    def __init__(self, index: int):
        self.index = index
        self.proc: subprocess.Popen | None = None
        self.channel: socket.socket | None = None
        self.ready = False
        self.ever_ready = False
        self.started = 0.0
        self.delay = RESTART_DELAY
        self.restart_at: float | None = None
        self.pending: deque[tuple[socket.socket, float]] = deque()
        self.writer = False


class Front:
    """The front process: accept, route by room, pass the socket on; keep N workers running."""

    def __init__(self, host: str, port: int, count: int, worker_argv: list[str]):
        self.host, self.port, self.count = host, port, count
        self.worker_argv = worker_argv
        self.workers = [_Worker(i) for i in range(count)]
        self.turn = 0
        self.stopping = False
        self.failed: str | None = None
        self.listener: socket.socket | None = None
        self.done: asyncio.Event | None = None
        self.routing: set[asyncio.Task] = set()
        self.unrouted: dict[str, int] = {}  # client address -> connections waiting for their request line

    def listen(self) -> socket.socket:
        """Bind before any worker starts: a port in use is said at once."""
        infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(1024)
        sock.setblocking(False)
        self.listener = sock
        return sock

    # ------------------------------------------------------------------ workers
    def _spawn(self, worker: _Worker) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        spec = f"{worker.index},{self.count},{theirs.fileno()},{os.getpid()}"
        worker.proc = subprocess.Popen(
            [sys.executable, "-m", "companion", "serve", *self.worker_argv, "--worker", spec],
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        worker.channel, worker.ready, worker.started, worker.restart_at = ours, False, time.monotonic(), None
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_channel, worker)
        log.info("worker %d started (pid %d)", worker.index, worker.proc.pid)

    def _on_channel(self, worker: _Worker) -> None:
        channel = worker.channel
        try:
            message = channel.recv(64)
        except BlockingIOError:
            return
        except OSError:
            message = b""
        if message == b"ready":
            worker.ready = worker.ever_ready = True
            log.info("worker %d (pid %d) serves", worker.index, worker.proc.pid)
            self._flush(worker)
        elif not message:  # the worker is going
            self._drop_channel(worker)

    def _drop_channel(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        if worker.channel is not None:
            loop.remove_reader(worker.channel.fileno())
            if worker.writer:
                loop.remove_writer(worker.channel.fileno())
                worker.writer = False
            worker.channel.close()
            worker.channel = None
        worker.ready = False

    async def _supervise(self) -> None:
        while not self.stopping:
            now = time.monotonic()
            for worker in self.workers:
                if worker.proc is not None and worker.proc.poll() is not None:
                    code = worker.proc.returncode
                    self._drop_channel(worker)
                    worker.proc = None
                    if not worker.ever_ready:
                        self.failed = f"worker {worker.index} stopped (exit status {code}) before it could serve"
                        self.stop()
                        return
                    worker.delay = worker.delay * 2 if now - worker.started < YOUNG_SECONDS else RESTART_DELAY
                    worker.delay = min(worker.delay, RESTART_DELAY_MAX)
                    worker.restart_at = now + worker.delay
                    log.warning("worker %d stopped (exit status %s); starting it again in %.1f s",
                                worker.index, code, worker.delay)
                if worker.proc is None and worker.restart_at is not None and now >= worker.restart_at:
                    self._spawn(worker)
                # Connections that waited too long for a worker that is (re)starting.
                while worker.pending and now - worker.pending[0][1] > WAIT_FOR_WORKER_SECONDS:
                    self._busy(worker.pending.popleft()[0])
            await asyncio.sleep(0.2)

    # ------------------------------------------------------------------ routing
    def _busy(self, sock: socket.socket) -> None:
        try:
            sock.send(BUSY_REPLY)
        except OSError:
            pass
        sock.close()

    def _pass(self, worker: _Worker, sock: socket.socket) -> bool:
        try:
            socket.send_fds(worker.channel, [b"c"], [sock.fileno()])
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:  # the worker is gone: it waits for the next one
            self._drop_channel(worker)
            return False
        sock.close()  # the worker holds its own copy now
        return True

    def _flush(self, worker: _Worker) -> None:
        while worker.pending and worker.ready and worker.channel is not None:
            if not self._pass(worker, worker.pending[0][0]):
                break
            worker.pending.popleft()
        loop = asyncio.get_running_loop()
        want = bool(worker.pending) and worker.ready and worker.channel is not None
        if want and not worker.writer:
            loop.add_writer(worker.channel.fileno(), self._flush, worker)
        elif not want and worker.writer and worker.channel is not None:
            loop.remove_writer(worker.channel.fileno())
        worker.writer = want

    def dispatch(self, sock: socket.socket, room_id: str | None) -> None:
        if self.stopping:
            sock.close()
            return
        if room_id is not None:
            worker = self.workers[worker_for(room_id, self.count)]
        else:
            ready = [w for w in self.workers if w.ready] or self.workers
            worker = ready[self.turn % len(ready)]
            self.turn += 1
        if worker.pending or not (worker.ready and self._pass(worker, sock)):
            worker.pending.append((sock, time.monotonic()))
            self._flush(worker)

    async def _route(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + PEEK_SECONDS
        pause = 0.002
        try:
            while True:
                try:
                    peeked = sock.recv(PEEK_BYTES, socket.MSG_PEEK)
                except (BlockingIOError, InterruptedError):
                    peeked = None
                if peeked == b"":
                    sock.close()  # closed before a request
                    return
                if peeked and (b"\n" in peeked.lstrip(b"\r\n") or len(peeked) >= PEEK_BYTES
                               or not _may_be_request(peeked)):
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    sock.close()
                    return
                if peeked is None:  # nothing yet: wait until something arrives
                    readable = loop.create_future()
                    loop.add_reader(sock.fileno(), lambda: readable.done() or readable.set_result(None))
                    try:
                        await asyncio.wait_for(readable, left)
                    except asyncio.TimeoutError:
                        pass
                    finally:
                        loop.remove_reader(sock.fileno())
                else:  # part of a line: it stays readable, so look again shortly
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.05)
        except OSError:
            sock.close()
            return
        except asyncio.CancelledError:
            sock.close()
            raise
        target = request_target(peeked)
        self.dispatch(sock, room_in_path(target) if target else None)

    async def _accept(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.stopping:
            try:
                sock, peer = await loop.sock_accept(self.listener)
            except (OSError, asyncio.CancelledError) as exc:
                if self.stopping or isinstance(exc, asyncio.CancelledError):
                    return
                log.warning("accepting a connection failed: %s", exc)  # e.g. out of file descriptors
                await asyncio.sleep(0.1)
                continue
            sock.setblocking(False)
            address = peer[0] if isinstance(peer, tuple) else str(peer)
            if self.unrouted.get(address, 0) >= MAX_UNROUTED_PER_ADDRESS:
                sock.close()
                continue
            self.unrouted[address] = self.unrouted.get(address, 0) + 1
            task = loop.create_task(self._route(sock))
            self.routing.add(task)
            task.add_done_callback(self.routing.discard)
            task.add_done_callback(lambda _t, a=address: self._routed(a))

    def _routed(self, address: str) -> None:
        left = self.unrouted.get(address, 1) - 1
        if left > 0:
            self.unrouted[address] = left
        else:
            self.unrouted.pop(address, None)

    # ------------------------------------------------------------------ run and stop
    def stop(self, reason: str = "asked to") -> None:
        if self.stopping:
            return
        log.info("stopping (%s): no new connections; the workers finish their rooms' work", reason)
        self.stopping = True
        if self.done is not None:
            self.done.set()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self.done = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, signal.Signals(sig).name)
        if self.listener is None:
            self.listen()
        for worker in self.workers:
            self._spawn(worker)
        tasks = [loop.create_task(self._accept()), loop.create_task(self._supervise())]
        await self.done.wait()
        self.listener.close()
        for task in [*tasks, *self.routing]:
            task.cancel()
        await asyncio.gather(*tasks, *self.routing, return_exceptions=True)
        for worker in self.workers:
            while worker.pending:
                worker.pending.popleft()[0].close()
            self._drop_channel(worker)
            if worker.proc is not None and worker.proc.poll() is None:
                worker.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self.workers:
            if worker.proc is None:
                continue
            try:
                await loop.run_in_executor(None, worker.proc.wait, max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker %d did not stop in time; killed", worker.index)
                worker.proc.kill()
                worker.proc.wait()
        if self.failed:
            print(f"companion: {self.failed}; see the lines above", file=sys.stderr, flush=True)
            return 1
        log.info("stopped: every worker has ended")
        return 0


def default_workers() -> int:
    """The cores this process may run on (a container's or taskset's limit included)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
