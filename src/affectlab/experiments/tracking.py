"""MLflow tracking of finished runs: params, metrics, artifacts; idempotent on resume."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import yaml

from ..evaluation.metrics import metric_names

ARTIFACTS = ("results.json", "config.yaml", "cls_report.txt", "confusion_matrix.png", "training_curves.png")


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = str(value)[:500]
    return out


class MLflowTracker:
    """One MLflow experiment per grid, one MLflow run per AffectLab run (tagged with its id)."""

    def __init__(self, tracking_uri: str, experiment: str, artifact_root: Path | None = None) -> None:
        try:
            import mlflow
        except ImportError:
            self.available = False
            return
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        logging.getLogger("alembic").setLevel(logging.ERROR)
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        self.available = True
        self.mlflow = mlflow
        self.client = mlflow.tracking.MlflowClient(tracking_uri=tracking_uri)
        found = self.client.get_experiment_by_name(experiment)
        if found:
            self.experiment_id = found.experiment_id
        else:  # artifacts next to the grid, not in whatever directory the user ran from
            location = artifact_root.resolve().as_uri() if artifact_root is not None else None
            self.experiment_id = self.client.create_experiment(experiment, artifact_location=location)
        self.tracking_uri = tracking_uri

    def _exists(self, run_id: str) -> bool:
        runs = self.client.search_runs([self.experiment_id], f"tags.affectlab_run_id = '{run_id}'",
                                       max_results=1)
        return bool(runs)

    def log_run(self, run_dir: Path) -> None:
        results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
        if self._exists(results["run_id"]):
            return
        config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
        run = self.client.create_run(self.experiment_id, run_name=results["run_id"],
                                     tags={"affectlab_run_id": results["run_id"],
                                           "config_key": str(results.get("config_key", "")),
                                           "seed": str(results.get("seed"))})
        rid = run.info.run_id
        params = _flatten(config)
        from mlflow.entities import Metric, Param

        metrics = []
        for split in ("dev", "test"):
            for name in metric_names():
                value = results.get(split, {}).get(name)
                if isinstance(value, (int, float)):
                    metrics.append(Metric(f"{split}_{name}", float(value), 0, 0))
        self.client.log_batch(rid, metrics=metrics,
                              params=[Param(k, v) for k, v in list(params.items())[:100]])
        for name in ARTIFACTS:
            if (run_dir / name).is_file():
                self.client.log_artifact(rid, str(run_dir / name))
        self.client.set_terminated(rid)
