"""A synthetic catalog of any size for the scale benchmarks (issue 25), shaped like the real ones, with ReDial's films
mixed in so that retrieval quality can still be measured on ReDial's dialogues.

    python benchmarks/make_catalog.py 1000000 --seed 7 --out /tmp/catalog-1m.jsonl

Every distribution is read from the real catalogs at run time: the bundled one (`knowledge/`: movies, books and
series in English and Chinese), the board games (`examples/catalogs/boardgames.jsonl`, with facets) and ReDial's
films (`../shared/datasets/redial/id2info.json`, read in place, never copied into the project). For each kind and
language: the share of items (of the bundled catalog and the board games), years, description lengths, how many
genres and which, tags, facets (board games) and popularity. Descriptions are new text made of the vocabulary that
items of the same genres use in the real catalogs (words in English, characters in Chinese), so that an item's
embedding sits near its genres; titles are new combinations of real title words; creators and cast are new names,
given again in proportion to how often they were (a Yule process), so that a few make dozens of items, as prolific
directors and authors do. Nothing else is copied: the output is for benchmarks only.

Writes JSON Lines (the `chatrec ingest` format) with ReDial's 6,583 films at random places among the N synthetic
items (ReDial's own ids, so `chatrec eval redial` finds them), and the board games' facet sidecar beside it. The
same N and seed give the same file.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import random
import re
import shutil
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge"
GAMES = ROOT / "examples" / "catalogs" / "boardgames.jsonl"
REDIAL = ROOT.parent / "shared" / "datasets" / "redial" / "id2info.json"
WORD = re.compile(r"(?<![\w'])[a-z][a-z']{2,}")  # lower-case words only: names of people and places stay out
HAN = re.compile(r"[\u4e00-\u9fff]")
NEW_PERSON = 0.7  # the chance that a person named on an item is a new one
STOP = frozenset(
    "the and for with from that this their his her its into who whom when where while after before about over "
    "they them are was were has have had but not one two all out his him she he our your you being been which "
    "what than then more most some such only own also just very can will would could should each other".split()
)


class Weighted:
    """Values drawn in proportion to their counts (cumulative weights, bisect: fast for large vocabularies)."""

    def __init__(self, counts: Counter[Any] | Sequence[Any]) -> None:
        pairs = counts.most_common() if isinstance(counts, Counter) else [(v, 1) for v in counts]
        self.values = [v for v, _ in pairs]
        self.cumulative = list(itertools.accumulate(c for _, c in pairs))

    def __bool__(self) -> bool:
        return bool(self.values)

    def draw(self, rng: random.Random) -> Any:
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]

    def distinct(self, rng: random.Random, k: int) -> list[Any]:
        """Up to `k` different values (fewer when the vocabulary is small)."""
        out: list[Any] = []
        for _ in range(k * 4):
            if len(out) == min(k, len(self.values)):
                break
            value = self.draw(rng)
            if value not in out:
                out.append(value)
        return out


@dataclass
class Shape:
    """What the real items of one kind and language look like."""

    kind: str
    language: str
    count: int = 0
    years: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)  # description characters
    genre_counts: Counter[int] = field(default_factory=Counter)
    genres: Counter[str] = field(default_factory=Counter)
    tags: Counter[str] = field(default_factory=Counter)
    title_parts: Counter[str] = field(default_factory=Counter)
    popularity: list[float] = field(default_factory=list)
    facets: list[dict[str, Any]] = field(default_factory=list)
    cast_counts: Counter[int] = field(default_factory=Counter)
    words: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # per genre


def tokens(text: str, language: str) -> list[str]:
    """Description vocabulary: lower-case English words that carry meaning, or Chinese two-character words (most
    Chinese words are two characters; single characters drawn at random made text whose every n-gram was new)."""
    if language == "zh":
        runs = re.findall(r"[\u3400-\u9fff]+", text)
        return [run[i : i + 2] for run in runs for i in range(0, len(run) - 1, 2)] or HAN.findall(text)
    return [w.lower() for w in WORD.findall(text) if w.lower() not in STOP]


def real_rows() -> Iterator[dict[str, Any]]:
    """The bundled catalog and the board games, as rows."""
    for path in [*sorted(KNOWLEDGE.glob("*.jsonl")), GAMES]:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


def redial_rows() -> list[dict[str, Any]]:
    """ReDial's films as catalog rows (chatrec's own reader), or none when the datasets are not beside the project."""
    if not REDIAL.exists():
        return []
    from chatrec.catalog.redial import redial_rows as read

    rows = []
    for _, _, item in read(REDIAL):
        if isinstance(item, Exception):
            continue
        row = {
            "id": item.id,
            "title": item.title,
            "year": item.year,
            "kind": item.kind,
            "genres": list(item.genres),
            "description": item.description,
            "creators": list(item.creators),
            "cast": list(item.cast),
            "language": "en",
        }
        rows.append({k: v for k, v in row.items() if v not in (None, [], "")})
    return rows


def shape_key(row: dict[str, Any]) -> tuple[str, str]:
    """(kind, language) of a row: Chinese when it says so or its title is."""
    language = "zh" if row.get("language") == "zh" or HAN.search(row["title"]) else "en"
    return row.get("kind") or "item", language


def learn(rows: Sequence[dict[str, Any]]) -> tuple[dict[tuple[str, str], Shape], dict[str, list[str]]]:
    """The shapes by (kind, language), and the name parts of people by language."""
    shapes: dict[tuple[str, str], Shape] = {}
    names: dict[str, list[str]] = {"en-first": [], "en-last": [], "zh-first": [], "zh-given": []}
    for row in rows:
        key = shape_key(row)
        language = key[1]
        shape = shapes.setdefault(key, Shape(*key))
        shape.count += 1
        if isinstance(row.get("year"), int):
            shape.years.append(row["year"])
        shape.lengths.append(len(row["description"]))
        genres = row.get("genres") or []
        shape.genre_counts[len(genres)] += 1
        shape.genres.update(genres)
        shape.tags.update(row.get("tags") or [])
        shape.title_parts.update(tokens(row["title"], "zh") if language == "zh" else row["title"].split())
        if isinstance(row.get("popularity"), (int, float)):
            shape.popularity.append(float(row["popularity"]))
        if row.get("facets"):
            shape.facets.append(row["facets"])
        shape.cast_counts[len(row.get("cast") or [])] += 1
        words = tokens(row["description"], language)
        for genre in genres or ["-"]:
            shape.words[genre].update(words)
        for person in [*(row.get("creators") or []), *(row.get("cast") or [])]:
            if HAN.fullmatch(person[:1] or "-") and 2 <= len(person) <= 4:
                names["zh-first"].append(person[0])
                names["zh-given"].extend(person[1:])
            elif len(parts := person.split()) >= 2:
                names["en-first"].append(parts[0])
                names["en-last"].append(parts[-1])
    return shapes, names


class Maker:
    """Synthetic items of every shape, in the shares of kinds and languages of the bundled catalog and the board
    games (ReDial's films lend their words and shapes, not their share), drawn with one seeded generator."""

    def __init__(self, shapes: dict[tuple[str, str], Shape], names: dict[str, list[str]], seed: int) -> None:
        self.rng = random.Random(seed)
        self.shapes = list(shapes.values())
        self.share = Weighted(Counter({i: s.count for i, s in enumerate(self.shapes) if s.count}))
        self.genres = [Weighted(s.genres) for s in self.shapes]
        self.tags = [Weighted(s.tags) for s in self.shapes]
        self.titles = [Weighted(s.title_parts) for s in self.shapes]
        self.words = [{g: Weighted(c) for g, c in s.words.items()} for s in self.shapes]
        self.all_words = [Weighted(sum(s.words.values(), Counter())) for s in self.shapes]
        self.parts = {k: Weighted(Counter(v)) for k, v in names.items()}
        self.people: dict[str, list[str]] = {"en": [], "zh": []}  # every name given, once per time it was given

    def person(self, language: str) -> str:
        """A new name (70 %), or one already given, picked in proportion to how often it was: the rich get richer
        (a Yule process), so a few people make dozens of items and most make one, at any size."""
        given = self.people[language]
        if given and self.rng.random() > NEW_PERSON:
            return self.rng.choice(given)
        if language == "zh":
            name = self.parts["zh-first"].draw(self.rng)
            name += "".join(self.parts["zh-given"].draw(self.rng) for _ in range(self.rng.choice((1, 2))))
        else:
            name = f"{self.parts['en-first'].draw(self.rng)} {self.parts['en-last'].draw(self.rng)}"
        given.append(name)
        return name

    def people_for(self, language: str, k: int) -> list[str]:
        """`k` different people (fewer if a draw repeats)."""
        return list(dict.fromkeys(self.person(language) for _ in range(k)))

    def text(self, i: int, genres: list[str], length: int) -> str:
        """Sentences of the vocabulary of these genres, about `length` characters."""
        shape, rng = self.shapes[i], self.rng
        sources = [self.words[i].get(g) for g in genres] or [None]
        out: list[str] = []
        size = 0
        while size < length:
            words = []
            for _ in range(rng.randint(6, 16) if shape.language == "en" else rng.randint(4, 12)):
                source = rng.choice(sources) if rng.random() < 0.7 else None
                words.append((source or self.all_words[i]).draw(rng))
            sentence = (" ".join(words).capitalize() + ".") if shape.language == "en" else ("".join(words) + "。")
            out.append(sentence)
            size += len(sentence) + 1
        return (" " if shape.language == "en" else "").join(out)

    def title(self, i: int) -> str:
        shape, words = self.shapes[i], self.titles[i]
        if shape.language == "zh":
            return "".join(words.draw(self.rng) for _ in range(self.rng.randint(1, 3)))
        return " ".join(str(words.draw(self.rng)).capitalize() for _ in range(self.rng.randint(1, 4)))

    def item(self, n: int) -> dict[str, Any]:
        rng = self.rng
        i = self.share.draw(rng)
        shape = self.shapes[i]
        genres = self.genres[i].distinct(rng, Weighted(shape.genre_counts).draw(rng))
        row: dict[str, Any] = {
            "id": f"syn-{n:07d}",
            "title": self.title(i),
            "kind": shape.kind,
            "language": shape.language,
            "genres": genres,
            "description": self.text(i, genres, rng.choice(shape.lengths)),
            "creators": self.people_for(shape.language, rng.choice((0, 1, 1, 1, 1, 2))),
        }
        if shape.years:
            row["year"] = rng.choice(shape.years) + rng.randint(-3, 3)
        if cast := Weighted(shape.cast_counts).draw(rng):
            row["cast"] = self.people_for(shape.language, cast)
        if self.tags[i]:
            row["tags"] = self.tags[i].distinct(rng, rng.randint(2, 6))
        if shape.popularity:
            row["popularity"] = round(rng.choice(shape.popularity) * rng.uniform(0.5, 1.5))
        if shape.facets:
            row["facets"] = self.facets(shape)
        if shape.language == "zh" and rng.random() < 0.3:
            row["aliases"] = [self.title(self.english(shape.kind, i))]
        return row

    def facets(self, shape: Shape) -> dict[str, Any]:
        """Each facet's value taken from a different real item: the joint shape loosens, each one's stays."""
        return {name: self.rng.choice(shape.facets)[name] for name in shape.facets[0]}

    def english(self, kind: str, fallback: int) -> int:
        return next((j for j, s in enumerate(self.shapes) if s.kind == kind and s.language == "en"), fallback)


def write(path: Path, n: int, seed: int, with_redial: bool = True, progress: bool = True) -> dict[str, int]:
    """Write the catalog; counts of what was written."""
    from tqdm import tqdm

    real = list(real_rows())
    films = redial_rows() if with_redial else []
    shapes, names = learn([*real, *films])
    shares = Counter(shape_key(row) for row in real)  # the shares of the site catalogs, not of ReDial's 6,583 films
    for key, shape in shapes.items():
        shape.count = shares.get(key, 0)
    maker = Maker(shapes, names, seed)
    place = random.Random(seed + 1)
    total = n + len(films)
    films_left, written = list(films), Counter[str]()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out, tqdm(total=total, unit="item", disable=not progress) as bar:
        made = 0
        for left in range(total, 0, -1):
            if films_left and (made == n or place.random() < len(films_left) / left):
                row, source = films_left.pop(), "redial"
            else:
                row, source = maker.item(made), "synthetic"
                made += 1
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            written[source] += 1
            bar.update()
    sidecar = GAMES.with_name(GAMES.stem + ".facets.yaml")
    shutil.copyfile(sidecar, path.with_name(path.stem + ".facets.yaml"))
    return dict(written)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, help="synthetic items (ReDial's films come on top)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help="the .jsonl file to write (its folder is created)")
    parser.add_argument("--no-redial", action="store_true", help="synthetic items only")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("n must be at least 0")
    if args.out.suffix != ".jsonl":
        parser.error("--out must end in .jsonl (the format chatrec ingest reads)")
    counts = write(args.out, args.n, args.seed, not args.no_redial, not args.quiet)
    print(f"{args.out}: {counts.get('synthetic', 0)} synthetic items, {counts.get('redial', 0)} ReDial films")
    return 0


if __name__ == "__main__":
    sys.exit(main())
