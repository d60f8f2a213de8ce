"""A thin typed client of the service API: one method per endpoint the dashboard calls.

Every failure a user can cause or fix (API down, wrong key, rate limit, a field the API
rejects) is an ``ApiError`` whose message says what to do, so the page shows one line, never
a traceback.
"""
from __future__ import annotations

from typing import Any, Literal, Mapping, Sequence, TypedDict

import httpx

from ..errors import AffectLabError


class ApiError(AffectLabError):
    """The API could not answer a request (the message says why and what to do)."""


class ApiUnreachableError(ApiError):
    """Nothing answers at the API URL, or it answered with something that is not the API."""


class ApiKeyError(ApiError):
    """The API rejected the key (401) or it lacks a scope (403)."""


class EndpointMissingError(ApiError):
    """The server is older than this dashboard and lacks an endpoint (404)."""


class PipelineInfo(TypedDict):
    name: str
    version: str
    modality: str
    tasks: list[str]
    run_id: str | None


class Pipelines(TypedDict):
    default: str
    pipelines: list[PipelineInfo]


class Prediction(TypedDict, total=False):
    text: str
    label: str | list[str]
    probabilities: dict[str, float]
    extras: dict[str, Any]  # readouts, e.g. "wheel" for Plutchik pipelines
    tasks: dict[str, dict[str, Any]]


class WordAttribution(TypedDict):
    word: str
    attribution: float


class Explanation(TypedDict, total=False):
    task: str
    target: str
    probability: float
    words: list[WordAttribution]
    delta: float
    mode: str
    steps: int


class TrajectoryTurn(TypedDict):
    text: str
    speaker: str | None
    label: str | list[str]
    probabilities: dict[str, float]
    intensity: float | None
    context: list[str]


class Forecast(TypedDict):
    method: str
    probabilities: dict[str, float]


class Trajectory(TypedDict):
    pipeline: str
    version: str
    task: str
    classes: list[str]
    turns: list[TrajectoryTurn]
    forecast: Forecast | None


KEY_HELP = "create one with `affectlab keys create --tenant NAME` and give it with --key or AFFECTLAB_API_KEY"


def _detail(response: httpx.Response) -> str:
    """The API's own explanation: FastAPI's ``detail`` (a string, or a list naming the fields)."""
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(detail, list):  # 422: [{"loc": [...], "msg": ...}]
        return "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:]) or 'body'}: {d.get('msg')}"
                         if isinstance(d, dict) else str(d) for d in detail)
    return str(detail)


class ApiClient:
    """The service at ``url`` called with ``key`` (header ``X-API-Key``)."""

    def __init__(self, url: str, key: str | None, timeout: float = 60.0) -> None:
        url = (url or "").strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ApiUnreachableError(f"the API URL {url!r} is not an http(s) URL; give one like "
                                      "http://127.0.0.1:8000 (--api)")
        self.url = url
        self._http = httpx.Client(base_url=url, timeout=timeout,
                                  headers={"X-API-Key": key} if key else {})
        self._has_key = bool(key)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, json=json)
        except httpx.TimeoutException:
            raise ApiUnreachableError(f"the API at {self.url} did not answer {method} {path} in time; "
                                      "it may be overloaded: retry, or check `affectlab serve`") from None
        except httpx.HTTPError as error:
            raise ApiUnreachableError(f"cannot reach the API at {self.url} ({type(error).__name__}); start it "
                                      "with `affectlab serve` or correct the API URL") from None
        if response.status_code == 401:
            what = "rejected the key" if self._has_key else "needs a key and none was given"
            raise ApiKeyError(f"the API {what} (401): {KEY_HELP}")
        if response.status_code == 403:
            raise ApiKeyError(f"the API refused this key (403): {_detail(response)}")
        if response.status_code == 404:
            raise EndpointMissingError(f"the API at {self.url} has no {method} {path} (404): "
                                       "is it an AffectLab service of this version?")
        if response.status_code == 429:
            wait = response.headers.get("Retry-After", "a few")
            raise ApiError(f"the API's rate limit for this key was reached (429): retry in {wait} s")
        if response.status_code in (413, 422):
            raise ApiError(f"the API rejected the request ({response.status_code}): {_detail(response)}")
        if response.status_code >= 400:
            raise ApiError(f"the API failed ({response.status_code}): {_detail(response)}; retry later")
        try:
            answer = response.json()
        except ValueError:
            raise ApiUnreachableError(f"{self.url}{path} did not answer JSON: is the URL the AffectLab API?") from None
        if not isinstance(answer, dict):
            raise ApiUnreachableError(f"{self.url}{path} answered {type(answer).__name__}, not an object: "
                                      "is the URL the AffectLab API?")
        return answer

    def pipelines(self) -> Pipelines:
        """The served pipelines and the default one (also checks the URL and the key)."""
        answer = self._call("GET", "/v1/pipelines")
        if "pipelines" not in answer:
            raise ApiUnreachableError(f"{self.url}/v1/pipelines is not an AffectLab answer: check the API URL")
        return answer  # type: ignore[return-value]

    def predict(self, text: str, pipeline: str | None = None, speaker: str | None = None,
                scenario: str | None = None) -> Prediction:
        """One text (with its speaker and scenario, for pipelines trained with them)."""
        body = _without_none({"text": text, "pipeline": pipeline, "speaker": speaker, "scenario": scenario})
        return self._call("POST", "/v1/predict", body)["prediction"]

    def predict_many(self, texts: Sequence[str], pipeline: str | None = None) -> list[Prediction]:
        """A batch of plain texts in one request (the server micro-batches them)."""
        return self._call("POST", "/v1/predict", _without_none({"texts": list(texts), "pipeline": pipeline}))["predictions"]

    def explain(self, text: str, pipeline: str | None = None, mode: Literal["fast", "full"] = "fast",
                task: str | None = None, target: str | None = None) -> Explanation:
        """Word attributions toward ``target`` (default: the predicted class)."""
        body = _without_none({"text": text, "pipeline": pipeline, "mode": mode, "task": task, "target": target})
        return self._call("POST", "/v1/explain", body)["explanation"]

    def trajectory(self, turns: Sequence[Mapping[str, str | None]], pipeline: str | None = None) -> Trajectory:
        """Every turn of a conversation predicted with its context, and the next turn's forecast."""
        body = {"turns": [{"text": t["text"], "speaker": t.get("speaker")} for t in turns], "pipeline": pipeline}
        return self._call("POST", "/v1/trajectory", body)  # type: ignore[return-value]

    def conversation_turn(self, conversation_id: str, text: str, speaker: str | None = None,
                          pipeline: str | None = None, scenario: str | None = None) -> dict[str, Any]:
        """One new turn of a conversation the server keeps (predicted with the turns before it)."""
        body = _without_none({"text": text, "speaker": speaker, "pipeline": pipeline, "scenario": scenario})
        return self._call("POST", f"/v1/conversations/{conversation_id}/turns", body)


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}
