"""Typed experiment configs and the runner that executes them."""
from .config import ExperimentConfig, config_from_dict, dump_config, load_config
from .runner import RunResult, prepare_data, run_experiment, run_id

__all__ = ["ExperimentConfig", "config_from_dict", "dump_config", "load_config", "RunResult",
           "prepare_data", "run_experiment", "run_id"]
