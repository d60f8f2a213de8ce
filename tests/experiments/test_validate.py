"""Registry names are checked when a config or grid is loaded, all of them in one error."""
import pytest
import yaml

from affectlab.errors import ConfigError
from affectlab.experiments import config_from_dict
from affectlab.experiments.grid import load_grid
from affectlab.experiments.validate import CHECKS, name_problems
from tests.experiments.toy import toy_config


def _base(tmp_path, **sections):
    return toy_config(tmp_path / "toy.csv", tmp_path / "encoder", tmp_path / "cache", **sections)


def test_valid_config_has_no_problems(tmp_path):
    assert name_problems(config_from_dict(_base(tmp_path))) == []


def test_every_bad_name_is_listed_once_with_the_known_ones(tmp_path):
    data = _base(tmp_path, model={"name": "lstn", "aggregator": "meen"}, training={"monitor": "weighted-f1"})
    data["data"]["corpus"] = "tabulr"
    data["data"]["split"] = {"name": "kfold_typo"}
    data["features"].update(layers="avg_last3", pooling="maen")
    data["loss"] = {"name": "cee"}
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, "my.yaml")
    message = str(info.value)
    assert message.startswith("invalid config my.yaml: ")
    assert message.count("unknown") == len(CHECKS) == 8
    for path, bad, known in [("data.corpus", "tabulr", "tabular"), ("data.split.name", "kfold_typo", "predefined"),
                             ("features.layers", "avg_last3", "stack_last4"), ("features.pooling", "maen", "mean"),
                             ("model.name", "lstn", "lstm"), ("model.aggregator", "meen", "expdecay"),
                             ("loss.name", "cee", "focal"), ("training.monitor", "weighted-f1", "weighted_f1")]:
        assert f"{path}: unknown" in message and repr(bad) in message and known in message


def test_grid_with_a_misspelt_axis_value_fails_at_load(tmp_path, monkeypatch):
    import affectlab.features.text as text

    monkeypatch.setattr(text, "extract_text_features", lambda *a, **k: pytest.fail("features extracted"))
    grid = {"name": "g", "base": _base(tmp_path), "seeds": [1, 2],
            "axes": {"model.name": ["mlp", "lstm"], "features.pooling": ["mean", "wmean_idff"]}}
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(grid))
    with pytest.raises(ConfigError, match=r"features.pooling: unknown pooling 'wmean_idff'; known: .*wmean_idf"):
        load_grid(path)
