"""How well the splitter does on our tables of advice rounds.

A round is right when it yields the expected number of items with the
expected speakers in order.  An item is right when a produced item of the
same speaker, later than the previous match, holds all its key words; an
item that swallowed its neighbour matches only one of the two, so too few
splits cost recall and too many cost precision.  Statements a round lists
under ``expect_aside`` must come back set aside (``AdviceItem.aside``), not
as items and not lost.

Rounds marked ``"unseen": true`` (or the older ``"holdout": true``) were kept
out of tuning the rules; their figures are reported apart, and their wrong
rounds are only listed with ``--show-unseen``, so that whoever tunes the
rules next does not tune to them by accident.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .splitter import AdviceItem, Utterance, advice_only, split_round

ADVICE_DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "advice"
DEFAULT_TABLE = ADVICE_DATA / "rounds.json"
# The rounds the rules were tuned on; the spoken-style set written before the
# rules were generalised (its "unseen" third never tuned on); two fresh sets
# tuned on after one untouched scoring each (figures in their "about"); and a
# last fresh set written after all tuning, unseen.
DEFAULT_TABLES = tuple(
    ADVICE_DATA / name
    for name in ("rounds.json", "rounds_spoken.json", "rounds_fresh.json", "rounds_fresh2.json", "rounds_fresh3.json")
)


@dataclass
class RoundResult:
    id: str
    language: str
    expected: int
    produced: int
    matched: int
    structure_ok: bool
    holdout: bool = False  # kept out of tuning ("unseen")
    items: list[dict[str, Any]] = field(default_factory=list)
    missed: list[list[Any]] = field(default_factory=list)
    asides_expected: int = 0
    asides_right: int = 0
    set_aside: list[dict[str, Any]] = field(default_factory=list)


def load_rounds(path: Path = DEFAULT_TABLE) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["rounds"]


def load_default_rounds() -> list[dict[str, Any]]:
    return [r for path in DEFAULT_TABLES for r in load_rounds(path)]


def is_unseen(round_: dict[str, Any]) -> bool:
    return bool(round_.get("unseen") or round_.get("holdout"))


def utterances_of(round_: dict[str, Any]) -> list[Utterance]:
    return [
        Utterance(id=f"{round_['id']}-{i}", speaker_id=spk, start=float(a), end=float(b), text=text)
        for i, (spk, a, b, text) in enumerate(round_["utterances"])
    ]


def match_items(expected: list[list[Any]], produced: list[AdviceItem]) -> tuple[int, list[list[Any]]]:
    matched, missed, cursor = 0, [], 0
    for speaker, words in expected:
        for j in range(cursor, len(produced)):
            item = produced[j]
            if item.speaker_id == speaker and all(w.lower() in item.text.lower() for w in words):
                matched += 1
                cursor = j + 1
                break
        else:
            missed.append([speaker, words])
    return matched, missed


def score_round(round_: dict[str, Any], live: bool = False) -> RoundResult:
    names = {u[0] for u in round_["utterances"]}
    asides: list[AdviceItem] = []
    if live:
        produced = live_items(round_)
    else:
        found = split_round(utterances_of(round_), round_.get("lang"), names=names)
        produced = advice_only(found)
        asides = [i for i in found if i.aside]
    expected = round_["expect"]
    matched, missed = match_items(expected, produced)
    expected_asides = round_.get("expect_aside", [])
    asides_right, _ = match_items(expected_asides, asides) if not live else (0, [])
    return RoundResult(
        id=round_["id"],
        language=round_.get("lang", "nl"),
        expected=len(expected),
        produced=len(produced),
        matched=matched,
        structure_ok=[s for s, _ in expected] == [i.speaker_id for i in produced],
        holdout=is_unseen(round_),
        items=[{"speaker": i.speaker_id, "start": i.start, "text": i.text} for i in produced],
        missed=missed,
        asides_expected=0 if live else len(expected_asides),
        asides_right=asides_right,
        set_aside=[{"speaker": i.speaker_id, "reason": i.aside, "text": i.text} for i in asides],
    )


def live_items(round_: dict[str, Any]) -> list[AdviceItem]:
    """The round fed one utterance at a time through the store, as the room does during the step."""
    import time as _time

    from .. import db
    from . import store

    conn = db.connect(":memory:")
    try:
        conn.execute(
            """INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at)
               VALUES ('bench', 'bench', 'bench', '', ?, 8, 'bench', ?)""",
            (round_.get("lang", "nl"), _time.time()),
        )
        for speaker in {u[0] for u in round_["utterances"]}:
            conn.execute(
                "INSERT INTO participants (id, room_id, name, role, token_hash, joined_at) VALUES (?, 'bench', ?, 'deelnemer', ?, 0)",
                (speaker, speaker.capitalize(), f"bench-{speaker}"),
            )
        for utt in utterances_of(round_):
            store.ingest_utterances(conn, "bench", [utt], round_.get("lang"))
        return [
            AdviceItem(speaker_id=i["participant_id"], start=i["start"], end=i["end"], text=i["text"])
            for i in store.list_items(conn, "bench")
        ]
    finally:
        conn.close()


def summarise(results: list[RoundResult]) -> dict[str, Any]:
    expected = sum(r.expected for r in results)
    produced = sum(r.produced for r in results)
    matched = sum(r.matched for r in results)
    rounds_ok = sum(r.structure_ok for r in results)
    asides_expected = sum(r.asides_expected for r in results)
    return {
        "rounds": len(results),
        "rounds_right": rounds_ok,
        "rounds_right_share": round(rounds_ok / len(results), 3) if results else 0.0,
        "items_expected": expected,
        "items_produced": produced,
        "items_right": matched,
        "recall": round(matched / expected, 3) if expected else 0.0,
        "precision": round(matched / produced, 3) if produced else 0.0,
        "set_aside_expected": asides_expected,
        "set_aside_right": sum(r.asides_right for r in results),
        "set_aside_produced": sum(len(r.set_aside) for r in results),
        "turns": None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="companion bench advice", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--table", type=Path, default=None,
        help="score this rounds file (JSON) alone (default: the tuned table and the spoken-style set)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--verbose", "-v", action="store_true", help="show every wrong round's items")
    parser.add_argument(
        "--show-unseen", action="store_true",
        help="also list the wrong rounds of the unseen part (only once you are done tuning)",
    )
    parser.add_argument(
        "--live", action="store_true", help="feed each round one utterance at a time through the SQLite store, as in a session"
    )
    args = parser.parse_args(argv)
    if args.table is not None and not args.table.is_file():
        parser.error(f"no such rounds file: {args.table}")
    if args.table is None and not all(p.is_file() for p in DEFAULT_TABLES):
        # An installed wheel has no tests/: the evaluation rounds live in the source checkout.
        parser.error(f"the evaluation rounds come with the source checkout ({ADVICE_DATA}); score your own with --table FILE")
    rounds = load_rounds(args.table) if args.table is not None else load_default_rounds()
    results = [score_round(r, live=args.live) for r in rounds]
    summary = summarise(results)
    summary["turns"] = sum(len(r["utterances"]) for r in rounds)
    summary["mode"] = "live" if args.live else "whole round"
    summary["tables"] = [str(args.table)] if args.table is not None else [str(p) for p in DEFAULT_TABLES]
    # Rounds written before the rules they are scored on and never tuned on: the fair figure.
    summary["tuned"] = summarise([r for r in results if not r.holdout])
    summary["unseen"] = summarise([r for r in results if r.holdout])
    for part in ("tuned", "unseen"):
        summary[part].pop("turns")
    shown = [r for r in results if (not r.holdout or args.show_unseen) and (not r.structure_ok or r.missed)]
    if args.json:
        summary["wrong_rounds"] = [asdict(r) for r in shown]
        summary["unseen_wrong_rounds_hidden"] = 0 if args.show_unseen else sum(
            1 for r in results if r.holdout and (not r.structure_ok or r.missed)
        )
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(f"mode: {summary['mode']}; {len(rounds)} rounds, {summary['turns']} utterances")
    for label, part in (("tuned on", summary["tuned"]), ("unseen", summary["unseen"])):
        if not part["rounds"]:
            continue
        print(
            f"{label}: rounds right (item count and speakers) {part['rounds_right']}/{part['rounds']}"
            f" ({part['rounds_right_share']:.0%}); items right {part['items_right']}/{part['items_expected']}"
            f" (recall {part['recall']:.1%}), {part['items_produced']} produced (precision {part['precision']:.1%})"
        )
    print(
        f"all: rounds right {summary['rounds_right']}/{summary['rounds']} ({summary['rounds_right_share']:.0%}),"
        f" recall {summary['recall']:.1%}, precision {summary['precision']:.1%}"
    )
    if summary["set_aside_expected"]:
        print(f"set aside as no advice: {summary['set_aside_right']}/{summary['set_aside_expected']} statements")
    for r in shown:
        print(f"- {r.id}: expected {r.expected}, produced {r.produced}, matched {r.matched}")
        if args.verbose:
            for item in r.items:
                print(f"    [{item['speaker']}] {item['text']}")
            for speaker, words in r.missed:
                print(f"    missed: [{speaker}] {', '.join(words)}")
    hidden = sum(1 for r in results if r.holdout and (not r.structure_ok or r.missed)) if not args.show_unseen else 0
    if hidden:
        print(f"({hidden} wrong unseen rounds not listed; --show-unseen lists them)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
