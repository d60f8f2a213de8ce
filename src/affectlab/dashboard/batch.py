"""The batch view's data: an uploaded CSV read into rows, sidebar defaults filled in, the rows
scored through the API in as few requests as their inputs allow, and the results as CSV.

Reading never raises a parser's traceback: an empty file, a file that is not UTF-8 or a table
without a ``text`` column is a ``DataFormatError`` that says what to change.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable, Iterator

import pandas as pd

from ..errors import DataFormatError
from .client import ApiClient, Prediction

#: Optional columns: a row's own value wins, an empty or missing one takes the sidebar default.
OPTIONAL = ("speaker", "topic", "scenario")
#: Texts per ``POST /v1/predict`` (the service's default ``max_batch``).
MAX_BATCH = 64


@dataclass(frozen=True)
class Defaults:
    speaker: str = ""
    topic: str = ""
    scenario: str = ""


def read_csv(data: bytes, name: str = "the file") -> pd.DataFrame:
    """The uploaded bytes as a table of strings (cells never become NaN; blanks stay "")."""
    if not data.strip():
        raise DataFormatError(f"{name} is empty: upload a CSV whose first line names the columns, one of them `text`")
    try:
        decoded = data.decode("utf-8-sig")  # a BOM, as Excel writes, is not part of the first column's name
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise DataFormatError(
            f"{name} is not UTF-8 text (byte 0x{data[error.start]:02x} on line {line} is not valid UTF-8; "
            "it may be Latin-1/Windows-1252 or not a CSV at all): save it as 'CSV UTF-8' and upload it again") from None
    try:
        frame = pd.read_csv(io.StringIO(decoded), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{name} has no columns: its first line must name them, one of them `text`") from None
    except (pd.errors.ParserError, csv.Error) as error:
        raise DataFormatError(f"{name} is not a well-formed CSV ({str(error).strip()}): check the quoting and "
                              "that every row has as many fields as the header") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    if "text" not in frame.columns:
        found = ", ".join(f"`{c}`" for c in frame.columns) or "none"
        raise DataFormatError(f"{name} has no `text` column (columns found: {found}); name the column holding "
                              "the texts `text` in the first line")
    if frame.empty:
        raise DataFormatError(f"{name} has a header but no rows: add one text per line under it")
    blank = [i + 2 for i, t in enumerate(frame["text"]) if not str(t).strip()]  # +2: 1-based, after the header
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (" ..." if len(blank) > 10 else "")
        raise DataFormatError(f"{name} has rows without a text (lines {shown}): fill them in or delete them")
    return frame


def fill_defaults(frame: pd.DataFrame, defaults: Defaults) -> pd.DataFrame:
    """A copy with every optional column present: blank or missing cells take ``defaults``."""
    out = frame.copy()
    for column in OPTIONAL:
        default = getattr(defaults, column).strip()
        values = out[column].astype(str).str.strip() if column in out.columns else pd.Series([""] * len(out), index=out.index)
        out[column] = values.where(values != "", default)
    return out


@dataclass(frozen=True)
class Request:
    """Rows scored by one API call: a batch of plain texts, or one row with its speaker/scenario."""

    rows: list[int]
    texts: list[str]
    speaker: str | None = None
    scenario: str | None = None


def plan(frame: pd.DataFrame, max_batch: int = MAX_BATCH) -> list[Request]:
    """Rows without speaker and scenario go ``max_batch`` at a time; a row with either goes on its
    own, since one request carries one speaker and scenario for all its texts. Order is kept."""
    requests: list[Request] = []
    pending: list[int] = []

    def flush() -> None:
        if pending:
            requests.append(Request(list(pending), [frame["text"].iat[i] for i in pending]))
            pending.clear()

    for i in range(len(frame)):
        speaker, scenario = frame["speaker"].iat[i] or None, frame["scenario"].iat[i] or None
        if speaker or scenario:
            flush()
            requests.append(Request([i], [frame["text"].iat[i]], speaker, scenario))
        else:
            pending.append(i)
            if len(pending) == max_batch:
                flush()
    flush()
    return requests


def run(client: ApiClient, request: Request, pipeline: str | None = None) -> list[Prediction]:
    if request.speaker or request.scenario:
        return [client.predict(request.texts[0], pipeline, request.speaker, request.scenario)]
    return client.predict_many(request.texts, pipeline)


def score(client: ApiClient, frame: pd.DataFrame, pipeline: str | None = None,
          progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """``frame`` (defaults filled) with ``label`` and one ``p_<class>`` column per class;
    ``progress(rows_done, rows_total)`` is called after every request."""
    predictions: list[Prediction | None] = [None] * len(frame)
    done = 0
    for request in plan(frame):
        for row, prediction in zip(request.rows, run(client, request, pipeline)):
            predictions[row] = prediction
        done += len(request.rows)
        if progress is not None:
            progress(done, len(frame))
    return with_predictions(frame, [p for p in predictions if p is not None])


def with_predictions(frame: pd.DataFrame, predictions: list[Prediction]) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    labels = [p["label"] for p in predictions]
    out["label"] = ["|".join(label) if isinstance(label, list) else label for label in labels]
    for name in _classes(predictions):
        out[f"p_{name}"] = [p["probabilities"].get(name) for p in predictions]
    return out


def _classes(predictions: list[Prediction]) -> Iterator[str]:
    seen: dict[str, None] = {}
    for p in predictions:
        seen.update(dict.fromkeys(p["probabilities"]))
    return iter(seen)


def to_csv(frame: pd.DataFrame) -> bytes:
    """The results as UTF-8 CSV (what the download button hands over)."""
    return frame.to_csv(index=False).encode("utf-8")
