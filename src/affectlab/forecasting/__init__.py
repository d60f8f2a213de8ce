"""Where a conversation's emotion goes next: next-turn examples (``sequences``), forecasters
(``models``: persistence, Markov, GRU, neural ODE) and a conversation's trajectory
(``trajectory``)."""
from .models import FORECASTERS, Forecaster, load_forecaster, log_loss
from .sequences import NextTurnSet, next_turn_set

__all__ = ["FORECASTERS", "Forecaster", "NextTurnSet", "load_forecaster", "log_loss", "next_turn_set"]
