"""Tables for people: they fit the terminal (80 columns when piped), text wraps inside its
cell at spaces, no word or number is ever cut ('CodeRevi…') or split, and piped output
carries no colour (rich's Console leaves it out when stdout is not a terminal)."""

from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.errors import MarkupError
from rich.table import Column, Table
from rich.text import Text


def text(header: str, **options) -> Column:
    """A column of words: wraps at spaces."""
    return Column(header, overflow="fold", **options)


def number(header: str) -> Column:
    """A column of numbers: right-aligned; its header may wrap at spaces, a number never."""
    return Column(header, justify="right", overflow="fold")


class FittedTable(Table):
    """A rich Table that, when its natural width does not fit, gives each column at least its
    longest word and shares the rest in proportion to what each column would still need
    (rich's own shrinking may cut a word or crop the last column)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        plain = [[_plain(cell) for cell in (column.header, *column.cells)] for column in self.columns]
        natural = [max((cell_len(line) for cell in cells for line in cell.splitlines()), default=0) for cells in plain]
        least = [max((cell_len(word) for cell in cells for word in cell.split()), default=0) for cells in plain]
        padding = sum(self._get_padding_width(index) for index in range(len(self.columns)))
        available = options.max_width - self._extra_width - padding
        for column in self.columns:
            column.width = None
        if sum(natural) > available >= sum(least):
            wanted = [high - low for high, low in zip(natural, least)]
            spare, total = available - sum(least), sum(wanted) or 1
            widths = [low + spare * want // total for low, want in zip(least, wanted)]
            for column, width in zip(self.columns, widths):
                column.width = width
        yield from super().__rich_console__(console, options)


def _plain(cell) -> str:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        try:
            return Text.from_markup(cell).plain
        except MarkupError:
            return cell
    return ""


def table(title: str, *columns: Column | str, caption: str | None = None) -> FittedTable:
    return FittedTable(
        *columns, title=title, title_justify="left", caption=caption, caption_justify="left",
        box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1),
    )
