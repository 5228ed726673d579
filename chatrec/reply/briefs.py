"""What the model is told of one item, and the words it is given to start from: the item's brief (title, year,
kind and a few facts, quoted as data), the sentence's opening written from the row, the other kinds' words it may
not use, and a plot cut to a phrase it can repeat whole.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from chatrec.catalog.items import Item
from chatrec.reading.language import CJK
from chatrec.reading.lexicon import EN_STOPWORDS, KIND_WORDS, canonical_genre
from chatrec.reading.titles import norm
from chatrec.reply.untrusted import keywords, screen
from chatrec.reply.words import KIND_ZH, CatalogWords

FACT_IN_PROMPT = 120  # characters of one catalog fact the model sees
PLOT_IN_PROMPT = 80  # characters of the description the model sees for an item with no tags
PLAIN = CatalogWords()  # no catalog's own words: the lexicon's and the glossary's
DANGLING = frozenset(
    "even involving including into onto about with without from further than".split()
)  # no plot ends so


def quote_fact(fact: str) -> str:
    """A catalog fact as a one-line quotation that cannot close its own quotes (the request template quotes it)."""
    flat = re.sub(r"[\"“”]", "'", " ".join(fact.split()))
    return flat[:FACT_IN_PROMPT] + ("…" if len(flat) > FACT_IN_PROMPT else "")


def item_brief(
    item: Item, language: str, words: CatalogWords = PLAIN, avoided: Collection[str] = ()
) -> dict[str, object]:
    """Title, year, kind and a few facts of an item, each read from its catalog row and quoted as data; genres and
    kinds in the catalog's words for the user's language, less the genres the user turned away from (`avoided`).

    Catalog text is data: instruction-like genres, names and tags, and over-long tags, never reach the prompt.
    """
    zh = language == "zh"
    own = item
    item = screen(item)[0]
    turned = {canonical_genre(g) for g in avoided}
    genres = [g for g in keywords(item.genres) if canonical_genre(g) not in turned][:2]
    tags = keywords(item.tags)[:2]  # a short prompt is a quick first token
    facts = []
    if genres:
        genres = [words.term(g, "zh", own) if zh else g for g in genres]
        facts.append(("类型：" + "、".join(genres)) if zh else ", ".join(genres))
    if item.creators:
        facts.append(("主创：" if zh else "by ") + item.creators[0])
    # a Chinese reply on a Chinese description gets its plot rather than its themes: with themes only, the small
    # model writes a story of its own (the worked example's) after "讲述"
    plot_first = zh and bool(CJK.search(item.description))
    if tags and not plot_first:  # no cast, two tags
        facts.append(("主题：" + "、".join(tags)) if zh else "about " + ", ".join(tags))
    elif plot := short_plot(item.description):  # with no themes to cite, a small model invents a plot: give it one
        facts.append(("剧情：" if zh else "story: ") + plot)
    elif tags:
        facts.append("主题：" + "、".join(tags))
    kind = (words.kind_noun(item.kind, "zh") or "作品") if zh else (item.kind or "item")
    return {"title": item.title, "year": item.year, "kind": kind, "facts": [quote_fact(f) for f in facts]}


def title_text(item: Item, language: str) -> str:
    """The title as a sentence opens with it: 'Roll for It! (2011)', '《英雄》（2002）'."""
    if language == "zh":
        return f"《{item.title}》" + (f"（{item.year}）" if item.year else "")
    return item.title + (f" ({item.year})" if item.year else "")


def opening(
    item: Item,
    language: str,
    interests: Sequence[str] = (),
    words: CatalogWords = PLAIN,
    avoided: Collection[str] = (),
) -> str:
    """The sentence's first words, written from the item's row and given to the model to continue: the title as
    the prompt lists it, and, when the row has them, its first genre, its kind and its first creator ("It (2017)
    is a horror movie by Andy Muschietti"). They are true by construction, and the model has only its clause left
    to write, which is what it does well (and each token it need not write is about 50 ms sooner). The genre is
    one the user asked for when the item has one, and never one they turned away from (`avoided`)."""
    zh = language == "zh"
    own = item
    item = screen(item)[0]
    title = title_text(item, language)
    wanted = {canonical_genre(term) for term in interests} - {""}
    avoided = {canonical_genre(g) for g in avoided}
    genres = [g for g in keywords(item.genres) if canonical_genre(g) not in avoided]
    genres = sorted(genres, key=lambda g: canonical_genre(g) not in wanted)[:1]  # the user's first
    kind = words.kind_noun(item.kind, language) if not zh or item.kind in KIND_ZH else ""
    if not genres or not kind:
        return title
    genre = canonical_genre(genres[0]) or genres[0].lower()
    creator = item.creators[0] if item.creators and keywords(item.creators[:1]) else ""
    if zh:
        return f"{title}是{creator + '的' if creator else ''}{words.term(genres[0], 'zh', own)}{kind}"
    if genre.split()[-1] == kind.split()[-1]:  # a card game is not "a card game board game"
        kind = ""
    article = "an" if genre[:1] in "aeiou" else "a"
    return f"{title} is {article} {' '.join(filter(None, [genre, kind]))}{' by ' + creator if creator else ''}"


def wrong_kind_words(item: Item, language: str) -> list[str]:
    """Words for the other kinds, which the model may not write about this item ("series" for a film) unless its
    own row uses them (a film "based on the novel"): single English words, and Chinese ones of two characters or
    more in a Chinese reply."""
    if item.kind not in KIND_WORDS:
        return []
    row = " ".join([item.title, *item.aliases, item.description, *item.tags, *item.genres])
    own_words, words = set(norm(row).split()), []
    for kind, forms in KIND_WORDS.items():
        for word in forms:
            if kind == item.kind or " " in word:
                continue
            if CJK.search(word):
                if language == "zh" and len(word) >= 2 and word not in row:
                    words.append(word)
            elif word not in own_words:
                words.append(word)
    return words


def short_plot(description: str) -> str:
    """The description's first sentence as a phrase the model can repeat whole: a leading "In 1989, " or "As
    ..., " set aside, then cut before PLOT_IN_PROMPT characters at a clause ("... hotel for the winter" of "... for
    the winter where a sinister presence ...") or, failing that, at a word (or character)."""
    first = re.split(r"(?<=[.!?。！？])\s*", " ".join(description.split()), maxsplit=1)[0]
    if CJK.search(first):
        limit = PLOT_IN_PROMPT // 3  # a Chinese character is about a token
        if len(first) <= limit:
            return first.rstrip("。")
        cuts = [m.start() for m in re.finditer(r"[，；、：]", first[: limit + 1]) if m.start() >= 8]
        return first[: cuts[-1]] if cuts else first[:limit]  # at a clause when there is one
    lead = re.match(
        r"(?:In|On|At|As|After|When|While|During|Set in|\w+ (?:years|decades) after)\b[^,]{3,70}, (?=\w)", first
    )
    if lead and len(first) - lead.end() >= 25:
        rest = first[lead.end() :]
        first = rest[0].upper() + rest[1:]
    if len(first) <= PLOT_IN_PROMPT:
        return first.rstrip(".")
    head = first[:PLOT_IN_PROMPT]
    clauses = [
        m.start()
        for m in re.finditer(
            r",| (?:who|which|where|when|while|as|after|before|until|but|and|only "
            r"to|in order to)\b",
            head,
        )
        if m.start() >= 30
    ]
    if clauses:
        return head[: clauses[-1]].rstrip(",;")
    words = head.split(" ")
    if len(words) == 1:
        return words[0]
    words = words[:-1]
    while len(words) > 1 and (words[-1].lower().strip(",;") in EN_STOPWORDS or words[-1].lower() in DANGLING):
        words.pop()
    return " ".join(words).rstrip(",;")
