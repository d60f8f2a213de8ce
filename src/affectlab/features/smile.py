"""openSMILE functionals (eGeMAPS, ComParE) from in-memory waves: the classic SER baselines."""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..errors import ConfigError
from .audio_io import AudioReadError

#: Short names -> openSMILE feature sets (dimensions: eGeMAPSv02 88, ComParE_2016 6373).
FEATURE_SETS = {"egemaps": "eGeMAPSv02", "compare": "ComParE_2016"}
SMILE_RATE = 16_000  # both configurations were designed for 16 kHz speech


class SmileFunctionals:
    """One openSMILE extractor at the Functionals level: a fixed-size vector per clip."""

    def __init__(self, feature_set: str = "eGeMAPSv02") -> None:
        import opensmile

        feature_set = FEATURE_SETS.get(feature_set, feature_set)
        if feature_set not in opensmile.FeatureSet.__members__:
            known = ", ".join(list(FEATURE_SETS) + list(opensmile.FeatureSet.__members__))
            raise ConfigError(f"unknown openSMILE feature set {feature_set!r}; known: {known}")
        self.feature_set = feature_set
        self.version = opensmile.__version__
        self.smile = opensmile.Smile(feature_set=opensmile.FeatureSet[feature_set],
                                     feature_level=opensmile.FeatureLevel.Functionals)

    @property
    def dim(self) -> int:
        return len(self.smile.feature_names)

    @property
    def feature_names(self) -> list[str]:
        return list(self.smile.feature_names)

    def settings(self) -> dict[str, Any]:
        return {"feature_set": self.feature_set, "level": "functionals", "opensmile": self.version}

    def one(self, wave: np.ndarray, sample_rate: int, name: str = "<array>") -> np.ndarray:
        """[D] float32 for one clip; openSMILE failures and NaN output become AudioReadError(name)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "Segment too short": caught as NaN below
                frame = self.smile.process_signal(np.asarray(wave, dtype=np.float32), sample_rate)
        except Exception as exc:
            raise AudioReadError(name, f"openSMILE {self.feature_set} failed ({exc})") from exc
        values = frame.to_numpy(dtype=np.float32).reshape(-1)
        if values.size != self.dim or not np.isfinite(values).all():
            raise AudioReadError(name, f"openSMILE {self.feature_set} gave no finite features (clip too short?)")
        return values

    def __call__(self, waves: Sequence[np.ndarray], sample_rate: int, names: Sequence[str] | None = None,
                 progress: bool = False) -> np.ndarray:
        """[N, D] float32, one row per wave."""
        names = list(names) if names is not None else [f"<wave {i}>" for i in range(len(waves))]
        rows = [self.one(w, sample_rate, n)
                for w, n in tqdm(list(zip(waves, names)), desc=self.feature_set, unit="clip",
                                 disable=None if progress else True)]
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)
