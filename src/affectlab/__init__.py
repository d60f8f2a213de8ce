"""AffectLab: emotion recognition from text and speech (video next), research to production."""
__version__ = "0.1.0"

from .errors import AffectLabError  # noqa: E402


def __getattr__(name: str):
    # Lazy imports keep `import affectlab` light (torch/transformers load on first use).
    if name in {"Pipeline", "Prediction"}:
        from . import pipeline

        return getattr(pipeline, name)
    if name in {"load_corpus", "list_corpora"}:
        from . import corpora

        return getattr(corpora, name)
    if name in {"run_experiment", "load_config"}:
        from . import experiments

        return getattr(experiments, name)
    if name == "run_cross_validation":
        from .experiments.cv import run_cross_validation

        return run_cross_validation
    raise AttributeError(name)


__all__ = ["__version__", "AffectLabError", "Pipeline", "Prediction", "load_corpus",
           "list_corpora", "run_experiment", "run_cross_validation", "load_config"]
