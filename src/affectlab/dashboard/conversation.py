"""A conversation typed as ``Speaker: text`` lines, and its emotion trajectory from the API.

``POST /v1/trajectory`` answers the whole trajectory and a forecast of the next turn; a server
without it (404) is asked turn by turn through ``/v1/conversations/{id}/turns`` instead, which
gives the same per-turn predictions with their context but no forecast.
"""
from __future__ import annotations

import uuid
from typing import TypedDict

from ..errors import InputError
from .client import ApiClient, EndpointMissingError, Trajectory, TrajectoryTurn


class Turn(TypedDict):
    text: str
    speaker: str | None


def parse_turns(typed: str, default_speaker: str | None = None) -> list[Turn]:
    """One turn per non-empty line, ``Speaker: text`` or just ``text`` (``default_speaker``)."""
    turns: list[Turn] = []
    for line in typed.splitlines():
        line = line.strip()
        if not line:
            continue
        speaker, sep, text = line.partition(":")
        if sep and speaker.strip() and len(speaker) <= 40 and text.strip():
            turns.append({"speaker": speaker.strip(), "text": text.strip()})
        else:
            turns.append({"speaker": default_speaker or None, "text": line})
    if not turns:
        raise InputError("the conversation is empty: type one turn per line, like `Alice: I got the job!`")
    return turns


def trajectory(client: ApiClient, turns: list[Turn], pipeline: str | None = None) -> tuple[Trajectory, bool]:
    """The trajectory of ``turns`` and whether it came from ``/v1/trajectory`` (else: turn by turn)."""
    try:
        return client.trajectory(turns, pipeline), True
    except EndpointMissingError:
        return _turn_by_turn(client, turns, pipeline), False


def _turn_by_turn(client: ApiClient, turns: list[Turn], pipeline: str | None) -> Trajectory:
    """The same shape from one conversation the server keeps (a fresh id, so no old turns)."""
    conversation_id = f"dashboard-{uuid.uuid4()}"
    done: list[TrajectoryTurn] = []
    name = version = ""
    for turn in turns:
        answer = client.conversation_turn(conversation_id, turn["text"], turn["speaker"], pipeline)
        name, version, prediction = answer["pipeline"], answer["version"], answer["prediction"]
        used = int(answer.get("context_turns", 0))
        done.append({"text": turn["text"], "speaker": turn["speaker"], "label": prediction["label"],
                     "probabilities": prediction["probabilities"], "intensity": None,
                     "context": [t["text"] for t in done[len(done) - used:]] if used else []})
    classes = list(done[0]["probabilities"]) if done else []
    return {"pipeline": name, "version": version, "task": "label", "classes": classes, "turns": done,
            "forecast": None}
