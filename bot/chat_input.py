"""What ``kursbot chat`` reads: lines of input become the messages a user sends.

A line is one message, except:

- a line ``<<<`` starts a block that a line ``>>>`` ends; the lines between are one message
  (a course form, typed or piped; the end of input ends an open block too);
- in a terminal, lines that arrive together are a paste: they wait for the next Enter and go
  as one message with it (the Enter also brings the paste's last line when that had no line
  break of its own), so that a pasted form is not a dozen messages.

Piped input has no pastes: everything arrives at once there, so only ``<<<`` makes a block.
"""

from __future__ import annotations

import codecs
import os
import select
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

BLOCK_START, BLOCK_END = "<<<", ">>>"
PASTE_GAP = 0.05  # seconds: lines closer together than this arrived in one paste


@dataclass(frozen=True)
class Typed:
    """One message as typed: ``block`` when it came as several lines (always sent as text,
    never a button press or a command of the chat itself)."""

    text: str
    block: bool = False


class LineSource(Protocol):
    """Lines of input in groups: those that arrived together; None at the end of input."""

    def burst(self) -> list[str] | None: ...


class PipedLines:
    """Lines of a pipe or file, one at a time (no pastes: everything arrives at once)."""

    def __init__(self, source: TextIO) -> None:
        self._source = source

    def burst(self) -> list[str] | None:
        """The next line; None at the end of input."""
        line = self._source.readline()
        return [line.rstrip("\r\n")] if line else None


class TerminalLines:
    """Lines typed into a terminal, grouped by arrival: the rest of a paste is already
    readable when its first line is, a typed line comes alone."""

    def __init__(self, fd: int, gap: float = PASTE_GAP) -> None:
        self._fd, self._gap = fd, gap
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._ended = False

    def burst(self) -> list[str] | None:
        """The lines that arrived together (waits for the first); None at the end of input."""
        lines: list[str] = []
        while not lines:  # a read may bring part of a line only
            if self._ended:
                return None
            lines += self._read()
        while not self._ended and select.select([self._fd], [], [], self._gap)[0]:
            lines += self._read()
        return lines

    def _read(self) -> list[str]:
        data = os.read(self._fd, 65536)
        if not data:  # Ctrl-D on an empty line, or the end of a pipe
            self._ended = True
            rest, self._partial = self._partial + self._decoder.decode(b"", final=True), ""
            return [rest] if rest else []
        *complete, self._partial = (self._partial + self._decoder.decode(data)).split("\n")
        return [line.rstrip("\r") for line in complete]


class MessageReader:
    """Turns lines into messages (see the module's doc); ``on_paste(n)`` is told when ``n``
    pasted lines wait for Enter."""

    def __init__(
        self,
        lines: LineSource,
        *,
        pastes: bool,
        on_paste: Callable[[int], None] = lambda _lines: None,
    ) -> None:
        self._lines, self._pastes, self._on_paste = lines, pastes, on_paste
        self._queue: deque[str] = deque()

    def read(self) -> Typed | None:
        """The next message; None at the end of input."""
        first = self._next()
        if first is None:
            return None
        if first.strip() == BLOCK_START:
            body: list[str] = []
            while (line := self._next()) is not None and line.strip() != BLOCK_END:
                body.append(line)
            return Typed("\n".join(body).strip(), block=True)
        if not (self._pastes and self._queue):
            return Typed(first.strip())
        pasted = [first, *self._queue]
        self._queue.clear()
        while True:  # until a burst of one line: the Enter that sends it
            self._on_paste(len(pasted))
            more = self._lines.burst()
            if more is None:
                break
            pasted += [line for line in more if line.strip()] if len(more) == 1 else more
            if len(more) == 1:
                break
        return Typed("\n".join(pasted).strip(), block=True)

    def _next(self) -> str | None:
        if not self._queue:
            burst = self._lines.burst()
            if burst is None:
                return None
            self._queue.extend(burst)
        return self._queue.popleft()
