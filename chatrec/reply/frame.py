"""The reply's frame: what is said whether or not the model writes: notices and the request as understood (the
head), one short line per pick (title and reason), and a closing invitation (the tail).

The generated sentences take the place of the top picks' lines; the others keep theirs, so every pick is in the
reply whichever way it was written. A draft shown while the model writes is always the start of the final text
(`partial` is a prefix of `text`): what was shown is never taken back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Frame:
    head: tuple[str, ...] = ()  # notices and the opening line
    lines: tuple[str, ...] = ()  # one per pick, best first: "Title (2002) — a thriller movie by ..."
    tail: tuple[str, ...] = ()  # after the list: an invitation to say more
    language: str = "en"
    fallback: str | None = None  # a whole template text to answer with instead of head, lines and tail
    relaxed: tuple[str, ...] = ()  # constraints let go for there to be picks ("kind", "years", facet names)

    def partial(self, sentences: Sequence[str] = ()) -> str:
        """The head and the first picks told by their generated sentences: a draft while the rest is written."""
        if not self.lines and not self.head:
            return (" " if self.language != "zh" else "").join(sentences)
        return "\n".join([*self.head, *(f"{n}. {s}" for n, s in enumerate(sentences, 1))])

    def text(self, sentences: Sequence[str] = ()) -> str:
        """The whole reply: the first picks told by `sentences` (none: the template reply), the rest by their line."""
        if not sentences and self.fallback is not None:
            return self.fallback
        if not self.lines and not self.head:
            return self.partial(sentences)
        told = [f"{n}. {s}" for n, s in enumerate(sentences, 1)]
        rest = [f"{n}. {line}" for n, line in enumerate(self.lines, 1)][len(sentences) :]
        body = "\n".join([*self.head, *told, *rest])
        return body + ("\n\n" + "\n".join(self.tail) if self.tail else "")
