"""The one table formatter behind every report: Markdown and plain-text tables, numbers.

Cells are strings; numbers go through :func:`format_number` (or a metric's
``MetricInfo.format``) first, so every report writes a missing value the same way.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

MISSING = "n/a"


def format_number(x: Any, digits: int = 4, missing: str = MISSING) -> str:
    """``x`` with ``digits`` decimals; None, NaN and inf (and pandas' NA) read ``missing``."""
    try:
        if x is None or not math.isfinite(float(x)):
            return missing
    except (TypeError, ValueError):
        return missing
    return f"{float(x):.{digits}f}"


def format_mean_sd(mean: Any, sd: Any, digits: int = 4) -> str:
    return f"{format_number(mean, digits)} ± {format_number(sd, digits)}"


def markdown_cell(text: Any) -> str:
    """A cell that cannot break its row: ``|`` escaped, line breaks as spaces."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub-flavoured Markdown table; ``align`` is one ``<`` (default) or ``>`` per column."""
    align = align or "<" * len(headers)
    if len(align) != len(headers):
        raise ValueError(f"align {align!r} does not have one character per column ({len(headers)})")
    rule = "|" + "".join("---:|" if a == ">" else "---|" for a in align)
    out = ["| " + " | ".join(markdown_cell(h) for h in headers) + " |", rule]
    out += ["| " + " | ".join(markdown_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def plain_table(rows: Sequence[Sequence[Any]], headers: Sequence[str] | None = None, align: str | None = None,
                sep: str = " ", min_widths: Sequence[int] = ()) -> str:
    """Aligned plain-text columns (``align``: ``<`` or ``>`` per column, default left); a
    left-aligned last column is not padded, so lines carry no trailing spaces."""
    table = ([list(map(str, headers))] if headers is not None else []) + [list(map(str, r)) for r in rows]
    if not table:
        return ""
    n = max(len(r) for r in table)
    align = align or "<" * n
    widths = [max([min_widths[i] if i < len(min_widths) else 0] + [len(r[i]) for r in table if i < len(r)])
              for i in range(n)]

    def line(row: list[str]) -> str:
        cells = []
        for i, cell in enumerate(row):
            last = i == len(row) - 1
            cells.append(cell.rjust(widths[i]) if align[i] == ">" else cell if last else cell.ljust(widths[i]))
        return sep.join(cells)

    return "\n".join(line(r) for r in table)
