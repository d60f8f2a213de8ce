"""Registry: unknown names and unknown keyword arguments are ConfigErrors that list the valid ones."""
import numpy as np
import pytest

from affectlab.errors import ConfigError
from affectlab.registry import Registry
from affectlab.training.losses import build_loss


def _registry() -> Registry:
    things = Registry("thing")

    @things.register("plain")
    def plain(size: int, colour: str = "red"):
        return (size, colour)

    @things.register("open")
    def open_(size: int = 1, **extra):
        return (size, extra)

    @things.register("cls")
    class Cls:
        def __init__(self, depth: int = 2, *, width: int = 3) -> None:
            self.depth, self.width = depth, width

    return things


def test_create_passes_known_keywords():
    things = _registry()
    assert things.create("plain", size=3) == (3, "red")
    assert things.create("open", size=2, anything=1) == (2, {"anything": 1})
    made = things.create("cls", width=5)
    assert (made.depth, made.width) == (2, 5)


def test_unknown_keyword_names_entry_bad_keys_and_accepted_ones():
    things = _registry()
    with pytest.raises(ConfigError) as info:
        things.create("plain", size=1, gamma=2, beta=1)
    message = str(info.value)
    assert "thing 'plain'" in message and "beta, gamma" in message and "colour, size" in message
    with pytest.raises(ConfigError, match="width"):
        things.create("cls", height=1)


def test_missing_required_keyword_is_a_config_error():
    with pytest.raises(ConfigError, match="needs size"):
        _registry().create("plain", colour="blue")


def test_signature_is_read_once_per_entry(monkeypatch):
    import inspect

    things = _registry()
    calls = []
    real = inspect.signature
    monkeypatch.setattr(inspect, "signature", lambda f, *a, **k: calls.append(f) or real(f, *a, **k))
    for _ in range(3):
        things.create("plain", size=1)
    assert len(calls) == 1
    assert things.accepted("open") is None and things.accepted("plain") == {"size", "colour"}


def test_unknown_name_lists_known_ones():
    with pytest.raises(ConfigError, match="known: cls, open, plain"):
        _registry().create("nope")


def test_loss_option_the_loss_does_not_take():
    """``loss: {name: ce, gamma: 2}`` used to end in a TypeError ("internal error")."""
    y = np.array([0, 1, 1, 2])
    with pytest.raises(ConfigError, match=r"loss 'ce' does not take gamma; it takes: label_smoothing, weight"):
        build_loss("ce", y, 3, False, gamma=2.0)
    assert build_loss("focal", y, 3, False, gamma=2.0).gamma == 2.0
