"""A compare-llm report read for the LLM view: numbers kept, anything else a clear error."""
import json

import pytest

from affectlab.dashboard.llm_report import load_report
from affectlab.errors import DataFormatError, DataNotFoundError


def test_agreement_and_per_class_figures_are_read(tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"model": "tiny-llm", "n": 40, "agreement": {"accuracy": 0.7, "cohen_kappa": 0.55},
                                "per_class": {"joy": {"f1": 0.8, "support": 10}, "anger": {"f1": 0.4, "note": "x"}}}))
    report = load_report(path)
    assert report.agreement == {"accuracy": 0.7, "cohen_kappa": 0.55}
    assert report.per_class == {"joy": {"f1": 0.8, "support": 10.0}, "anger": {"f1": 0.4}}
    assert report.about == {"model": "tiny-llm", "n": "40"}
    path.write_text(json.dumps({"agreement": 0.61}))
    assert load_report(path).agreement == {"agreement": 0.61}


def test_a_missing_or_foreign_file_says_what_to_give(tmp_path):
    with pytest.raises(DataNotFoundError, match="compare-llm"):
        load_report(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataFormatError, match="not a JSON report"):
        load_report(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"rows": 3}')
    with pytest.raises(DataFormatError, match="neither `agreement` nor `per_class`"):
        load_report(tmp_path / "other.json")
