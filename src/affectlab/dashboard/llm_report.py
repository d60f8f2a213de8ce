"""A ``affectlab compare-llm`` report (JSON) read for the LLM comparison view: its agreement
figures and its per-class figures. Read tolerantly — only numbers are kept — so the view
keeps working while the report gains fields."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import DataFormatError, DataNotFoundError


@dataclass
class LlmReport:
    path: Path
    agreement: dict[str, float]
    per_class: dict[str, dict[str, float]]
    about: dict[str, str] = field(default_factory=dict)  # model, endpoint, counts: shown as captions


def _numbers(data: Any) -> dict[str, float]:
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def load_report(path: str | Path) -> LlmReport:
    """The report at ``path``: ``agreement`` (a number or an object of numbers), ``per_class``
    (class -> figures); other top-level scalars become captions."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataNotFoundError(f"no compare-llm report at {path}: write one with `affectlab compare-llm ... "
                                "--out REPORT.json` and give its path (--llm-report)")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataFormatError(f"{path} is not a JSON report ({error}): give the JSON that compare-llm wrote") from None
    if not isinstance(report, dict):
        raise DataFormatError(f"{path} holds a JSON {type(report).__name__}, not a compare-llm report object")
    agreement = report.get("agreement")
    agreement = {"agreement": float(agreement)} if isinstance(agreement, (int, float)) else _numbers(agreement)
    per_class = {str(c): _numbers(v) for c, v in (report.get("per_class") or {}).items()} \
        if isinstance(report.get("per_class"), dict) else {}
    if not agreement and not per_class:
        raise DataFormatError(f"{path} has neither `agreement` nor `per_class`: is it a compare-llm report?")
    about = {str(k): str(v) for k, v in report.items()
             if k not in ("agreement", "per_class") and isinstance(v, (str, int, float)) and not isinstance(v, bool)}
    return LlmReport(path, agreement, {c: v for c, v in per_class.items() if v}, about)
