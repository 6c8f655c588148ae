"""How well the splitter does on our table of advice rounds.

A round is right when it yields the expected number of items with the
expected speakers in order.  An item is right when a produced item of the
same speaker, later than the previous match, holds all its key words; an
item that swallowed its neighbour matches only one of the two, so too few
splits cost recall and too many cost precision.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .splitter import AdviceItem, Utterance, split_round

DEFAULT_TABLE = Path(__file__).resolve().parents[2] / "tests" / "data" / "advice" / "rounds.json"


@dataclass
class RoundResult:
    id: str
    language: str
    expected: int
    produced: int
    matched: int
    structure_ok: bool
    holdout: bool = False
    items: list[dict[str, Any]] = field(default_factory=list)
    missed: list[list[Any]] = field(default_factory=list)


def load_rounds(path: Path = DEFAULT_TABLE) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["rounds"]


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
    if live:
        produced = live_items(round_)
    else:
        produced = split_round(utterances_of(round_), round_.get("lang"), names=names)
    expected = round_["expect"]
    matched, missed = match_items(expected, produced)
    return RoundResult(
        id=round_["id"],
        language=round_.get("lang", "nl"),
        expected=len(expected),
        produced=len(produced),
        matched=matched,
        structure_ok=[s for s, _ in expected] == [i.speaker_id for i in produced],
        holdout=bool(round_.get("holdout")),
        items=[{"speaker": i.speaker_id, "start": i.start, "text": i.text} for i in produced],
        missed=missed,
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
    return {
        "rounds": len(results),
        "rounds_right": rounds_ok,
        "rounds_right_share": round(rounds_ok / len(results), 3) if results else 0.0,
        "items_expected": expected,
        "items_produced": produced,
        "items_right": matched,
        "recall": round(matched / expected, 3) if expected else 0.0,
        "precision": round(matched / produced, 3) if produced else 0.0,
        "turns": None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="companion bench advice", description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE, help="rounds file (JSON)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--verbose", "-v", action="store_true", help="show every wrong round")
    parser.add_argument(
        "--live", action="store_true", help="feed each round one utterance at a time through the SQLite store, as in a session"
    )
    args = parser.parse_args(argv)
    rounds = load_rounds(args.table)
    results = [score_round(r, live=args.live) for r in rounds]
    summary = summarise(results)
    summary["turns"] = sum(len(r["utterances"]) for r in rounds)
    summary["mode"] = "live" if args.live else "whole round"
    summary["was_holdout"] = sum(bool(r.get("was_holdout")) for r in rounds)
    # Rounds written after the rules were tuned: the fairer figure.
    summary["holdout"] = summarise([r for r in results if r.holdout])
    summary["holdout"].pop("turns")
    if args.json:
        summary["wrong_rounds"] = [asdict(r) for r in results if not r.structure_ok or r.missed]
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(f"mode: {summary['mode']}")
    print(
        f"rounds right (item count and speakers): {summary['rounds_right']}/{summary['rounds']}"
        f" ({summary['rounds_right_share']:.0%})"
    )
    print(
        f"items right: {summary['items_right']}/{summary['items_expected']} expected"
        f" (recall {summary['recall']:.1%}), {summary['items_produced']} produced (precision {summary['precision']:.1%})"
    )
    print(f"table: {len(rounds)} rounds, {summary['turns']} utterances")
    held = summary["holdout"]
    if summary["was_holdout"]:
        print(
            f"{summary['was_holdout']} rounds were written as holdouts and tuned on after measuring;"
            " their figures before tuning are in the table's 'about'"
        )
    if held["rounds"]:
        print(
            f"of which holdout (written after tuning): rounds right {held['rounds_right']}/{held['rounds']},"
            f" items right {held['items_right']}/{held['items_expected']}, {held['items_produced']} produced"
        )
    for r in results:
        if r.structure_ok and not r.missed:
            continue
        print(f"- {r.id}: expected {r.expected}, produced {r.produced}, matched {r.matched}")
        if args.verbose:
            for item in r.items:
                print(f"    [{item['speaker']}] {item['text']}")
            for speaker, words in r.missed:
                print(f"    missed: [{speaker}] {', '.join(words)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
