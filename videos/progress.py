"""A dependency-free progress bar for management commands.

On a terminal the bar is redrawn in place with a carriage return; anywhere
else (a pipe, a log, a test) each step is written on its own line.
"""

from __future__ import annotations

from typing import TextIO


class Progress:
    """Draws ``label [#####.....] 3/6 note`` once per step."""

    width = 20

    def __init__(self, total: int, label: str, stream: TextIO) -> None:
        self.total = total
        self.label = label
        self.stream = stream
        self.done = 0
        isatty = getattr(stream, "isatty", None)
        self.redraw = bool(isatty and isatty())
        self._drawn = 0

    def advance(self, note: str = "") -> None:
        self.done = min(self.done + 1, self.total)
        line = self.line(note)

        if self.redraw:
            # Pad over the tail of a longer previous line.
            self.stream.write("\r" + line.ljust(self._drawn))
            self._drawn = len(line)
            if self.done == self.total:
                self.close()
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def line(self, note: str = "") -> str:
        filled = self.width * self.done // self.total if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        text = f"{self.label} [{bar}] {self.done}/{self.total}"
        return f"{text} {note}" if note else text

    def close(self) -> None:
        """End a bar left on an unfinished terminal line (after an error)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = 0
