"""Every shipped config and grid validates; with the datasets present, each prepares its data."""
from pathlib import Path

import pytest

from affectlab.experiments import load_config, prepare_data
from affectlab.experiments.cv import fold_config, is_cross_validation
from affectlab.experiments.grid import load_grid
from tests.conftest import data_root

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
GRIDS = sorted((Path(__file__).resolve().parents[2] / "configs" / "grids").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_validates(path):
    assert load_config(path).name


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_grid_expands(path):
    from affectlab.experiments.runner import run_id

    runs = load_grid(path).expand()  # a grid may be one variant of its base (a left-out corpus)
    assert runs and len({run_id(c) for c in runs}) == len(runs)  # every point a distinct run


@pytest.mark.data
@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_prepares_real_data(path):
    if not data_root().is_dir():
        pytest.skip(f"datasets not found at {data_root()} (set AFFECTLAB_DATA_ROOT)")
    config = load_config(path)
    corpus_dir = data_root() / config.data.corpus
    if not corpus_dir.is_dir():
        # RAVDESS is staged separately (../shared/data/README.md), so a data root may lack it
        pytest.skip(f"{config.data.corpus} not present at {corpus_dir}")
    if is_cross_validation(config):
        config = fold_config(config, 0)
    data = prepare_data(config, data_root())
    assert {"train", "dev", "test"} <= set(data.corpus.table["split"])
    assert len(data.y) == len(data.corpus)
