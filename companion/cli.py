"""Command line: ``companion serve`` for the operator, plus tools and benchmarks."""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import os
import sys
from pathlib import Path

from .config import Settings, default_data_dir
from .db import database_url
from .front import default_workers
from .speech.options import WINDOW_HELP, WINDOWS

DESCRIPTION = """\
companion: a self-hosted room for online intervisie.

  companion serve                 start the server (http://127.0.0.1:8080)
  companion serve --self-signed --host 0.0.0.0
                                  for a local network: https with a certificate
                                  made once and kept in the data folder
  companion facilitator add NAME  a personal link for a facilitator (only they create rooms);
                                  also: facilitator list, facilitator remove NAME
  companion rooms list            the rooms on this server; rooms delete ID deletes one now
  companion migrate               bring the database to this release's schema (serve does it
                                  at start too); --database URL for a shared PostgreSQL
  companion transcribe FILE       transcribe a recording with the same local model
  companion model export-openai OUT.pt
                                  convert the bundled Whisper weights for openai-whisper
  companion turn-config --realm turn.example.nl --turn-secret-file FILE
                                  print a coturn configuration for participants
                                  behind a firewall (see serve --turn-url)
  companion proxy-config nginx --upstream HOST:PORT [--upstream HOST:PORT ...]
                                  print an nginx configuration that sends each room
                                  to one of several servers (many groups at once)
  companion bench media|asr|advice
                                  measure speed against a baseline in the same run
  companion bench session --rooms 1
                                  capacity planning: server CPU and memory for whole
                                  simulated sessions, and the advice-list latency
  companion bench speech-sharing  with --workers N: a speech model per worker or one shared,
                                  latency and memory with three rooms in an advice round at once
  companion bench pauses          a pause inside a speaker's turn: word error rate
                                  whole, in pieces, and in pieces with the words before
  companion bench rtp-parse       parsing one received RTP packet: aiortc's parse
                                  against the forwarder's own, in microseconds
"""

# Subcommands that live with the part they measure or serve: (module, function).
DELEGATED = {
    "facilitator": ("companion.operator", "facilitator_main"),
    "rooms": ("companion.operator", "rooms_main"),
    "migrate": ("companion.operator", "migrate_main"),
    "transcribe": ("companion.speech.cli", "transcribe_main"),
    "model": ("companion.speech.cli", "model_main"),
    "turn-config": ("companion.turn", "config_main"),
    "proxy-config": ("companion.proxy_config", "main"),
}
BENCHES = {
    "media": "companion.media.bench",
    "asr": "companion.speech.bench",
    "advice": "companion.advice.bench",
    "session": "companion.session_bench",
    "pauses": "companion.speech.pause_bench",
    "speech-sharing": "companion.speech.sharing_bench",
    "rtp-parse": "companion.media.rtp.parse_bench",
}


def serve_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="companion serve",
        description="Start the intervisie room server. Open the printed address, create a room, "
        "and send the invite link to the group.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all networks)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help=f"folder for the database, your own method files (methods/), the certificate and the speech model (default {default_data_dir()})",
    )
    p.add_argument("--tls-cert", type=Path, help="certificate file (PEM, full chain) for https")
    p.add_argument("--tls-key", type=Path, help="private key file (PEM) for https")
    p.add_argument(
        "--self-signed",
        action="store_true",
        help="serve https with a self-signed certificate made once in the data folder; browsers warn once. "
        "Needed on a local network: camera and microphone only work on https or localhost",
    )
    p.add_argument(
        "--public-url",
        help="the address people use, e.g. https://intervisie.example.nl, when behind a reverse proxy (used in invite links)",
    )
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="address of your reverse proxy whose X-Forwarded-Proto/Host/For are believed (repeatable): "
        "the limits per client address then count the address the proxy saw, not the proxy's own",
    )
    p.add_argument("--max-rooms", type=int, default=1000, help="rooms stored at once on this server (default 1000)")
    p.add_argument("--max-rooms-per-facilitator", type=int, default=50,
                   help="rooms one facilitator holds at once, ended ones included until deleted (default 50)")
    p.add_argument("--retention-days", type=int, default=30, help="days a session's data is kept after it ends (default 30)")
    p.add_argument(
        "--asr-engine",
        choices=["faster-whisper", "openai-whisper"],
        default="faster-whisper",
        help="speech engine for the advice round (default faster-whisper; openai-whisper needs the extra)",
    )
    p.add_argument(
        "--whisper-model",
        help="speech model: empty for the bundled Whisper base, a faster-whisper model name (needs internet once) "
        "or a local model folder; with openai-whisper a checkpoint name or path",
    )
    p.add_argument("--asr-threads", type=int, default=2, help="CPU threads for the speech model (default 2)")
    p.add_argument("--asr-window", choices=WINDOWS, default="full", help=WINDOW_HELP)
    p.add_argument("--no-transcription", action="store_true", help="do not transcribe (no speech model is loaded)")
    p.add_argument(
        "--media-forwarder", choices=["rtp", "frames"], default=os.environ.get("COMPANION_MEDIA_FORWARDER") or "rtp",
        help="how the server passes each participant's audio and video on: 'rtp' forwards the packets as they "
        "arrive (keyframe requests and retransmissions handled per link); 'frames' reassembles every frame "
        "first, the earlier way, at about twice the CPU (kept for one release, to compare). "
        "Default: $COMPANION_MEDIA_FORWARDER, else rtp",
    )
    p.add_argument(
        "--turn-url",
        action="append",
        default=[],
        metavar="URL",
        help="a TURN relay for participants whose network blocks the call (repeatable), e.g. "
        "turns:turn.example.nl:443?transport=tcp (TLS), turn:turn.example.nl:3478 (UDP) and "
        "turn:turn.example.nl:3478?transport=tcp; needs the shared secret",
    )
    p.add_argument(
        "--turn-secret-file",
        type=Path,
        metavar="FILE",
        help="file holding the secret shared with coturn (static-auth-secret); "
        "without it the secret is read from $COMPANION_TURN_SECRET",
    )
    p.add_argument(
        "--turn-server-relay",
        action="store_true",
        help="let the server's own side use the relay too; only for a server without a reachable address (behind NAT)",
    )
    p.add_argument(
        "--node-id",
        help="this server process's name in the room leases, unique among the processes that share the database "
        "(default: host name and port)",
    )
    p.add_argument(
        "--lease-seconds", type=float, default=15.0,
        help="a room whose server process stopped renewing is taken over by another after this many seconds (default 15)",
    )
    p.add_argument(
        "--lease-renew-seconds", type=float, default=5.0,
        help="how often a server process renews the leases of its rooms; at most half of --lease-seconds (default 5)",
    )
    p.add_argument(
        "--workers", type=int, metavar="N",
        help="server processes, each serving its own rooms with its own speech model, so rooms use every core "
        "(default: the number of cores, here %d). A front process takes the connections and passes each to "
        "the worker of its room. 1: a single process. With https in the server itself (--tls-cert, --self-signed) "
        "one process serves (it cannot see a room inside TLS): to use every core with https, let nginx or Caddy "
        "do TLS in front" % default_workers(),
    )
    p.add_argument(
        "--database", metavar="URL", type=database_url,
        help="the database: postgresql://USER@HOST:PORT/DBNAME for several server processes or machines sharing "
        "one PostgreSQL database (the password from ~/.pgpass or $PGPASSWORD, not the command line), or "
        "sqlite:///PATH; default: companion.sqlite3 in the data folder",
    )
    # Internal: started by the front as one of its workers (index,count,channel fd,front pid).
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument(
        "--pages-per-address", type=int, metavar="N",
        help="open pages one client address may hold (default 64, about nine rooms); raise it when many groups "
        "come from one address, as a hospital or campus network behind one NAT address (about 7 per room); "
        "the requests per second allowed per address grow with it",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="more logging")
    return p


def serve(argv: list[str]) -> int:
    args = serve_parser().parse_args(argv)
    worker = tuple(int(x) for x in args.worker.split(",")) if args.worker else None
    tag = f" w{worker[0]}" if worker else ""
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format=f"%(asctime)s %(levelname)s{tag} %(name)s: %(message)s")
    if bool(args.tls_cert) != bool(args.tls_key):
        print("companion: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    tls = bool(args.tls_cert or args.self_signed)
    if args.workers is not None and args.workers < 1:
        print("companion: --workers must be 1 or more", file=sys.stderr)
        return 2
    if args.pages_per_address is not None and args.pages_per_address < 1:
        print("companion: --pages-per-address must be 1 or more", file=sys.stderr)
        return 2
    if tls and args.workers is not None and args.workers > 1:
        print("companion: --workers above 1 needs plain http: with --tls-cert or --self-signed the server cannot "
              "see which room a connection is for. Let nginx or Caddy do https in front of "
              "'companion serve --workers N' (README, 'Deploying on a server'), or leave out --workers.",
              file=sys.stderr)
        return 2
    workers = 1 if tls else (args.workers or default_workers())
    if workers > 2 * default_workers():
        print(f"companion: warning: {workers} workers on {default_workers()} cores; each keeps its own speech model "
              "(about 300 MB) and media, so workers beyond the cores add memory, not rooms", file=sys.stderr)
    if args.media_forwarder not in ("frames", "rtp"):  # from $COMPANION_MEDIA_FORWARDER
        print(f"companion: unknown media forwarder {args.media_forwarder!r} (frames or rtp)", file=sys.stderr)
        return 2
    if not (math.isfinite(args.lease_seconds) and 0 < args.lease_renew_seconds * 2 <= args.lease_seconds):
        # inf would let a room wait forever for a process that died
        print("companion: --lease-seconds must be a finite number of seconds, --lease-renew-seconds above 0 and at most"
              " half of it", file=sys.stderr)
        return 2
    from .advice import language

    try:
        language.check_all()  # an edited cue file with a mistake stops here, not in the middle of a round
    except language.LanguageFileError as exc:
        print(f"companion: {exc}", file=sys.stderr)
        return 2
    from .turn import TurnSettingsError, settings_from_options

    try:
        turn = settings_from_options(args.turn_url, args.turn_secret_file, args.turn_server_relay)
    except TurnSettingsError as exc:
        print(f"companion: {exc}", file=sys.stderr)
        return 2
    settings = Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        self_signed=args.self_signed,
        public_url=args.public_url,
        retention_days=args.retention_days,
        max_rooms=args.max_rooms,
        trusted_proxies=tuple(args.trusted_proxy),
        max_rooms_per_facilitator=args.max_rooms_per_facilitator,
        asr_engine=args.asr_engine,
        whisper_model=args.whisper_model,
        asr_threads=args.asr_threads,
        asr_window=args.asr_window,
        enable_transcription=not args.no_transcription,
        media_forwarder=args.media_forwarder,
        turn=turn,
        node_id=args.node_id,
        lease_seconds=args.lease_seconds,
        lease_renew_seconds=args.lease_renew_seconds,
        database=args.database,
        pages_per_address=args.pages_per_address,
    )
    from . import server

    if worker is not None:
        index, count, channel, front_pid = worker
        return server.run_worker(settings, index, count, channel, front_pid)
    if workers > 1:
        return server.run_front(settings, workers, argv)
    return server.run(settings)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(DESCRIPTION)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        return serve(rest)
    if command == "bench":
        if not rest or rest[0] not in BENCHES:
            print(f"usage: companion bench {{{'|'.join(BENCHES)}}} [options]", file=sys.stderr)
            return 2
        return _call(BENCHES[rest[0]], "main", rest[1:])
    if command in DELEGATED:
        module, func = DELEGATED[command]
        return _call(module, func, rest)
    print(f"companion: unknown command {command!r}\n\n{DESCRIPTION}", file=sys.stderr)
    return 2


def _call(module_name: str, func: str, argv: list[str]) -> int:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"companion: this part is not installed ({module_name})", file=sys.stderr)
        return 2
    return int(getattr(module, func)(argv) or 0)
