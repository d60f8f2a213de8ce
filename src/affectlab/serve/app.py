"""The FastAPI app: ``create_app(settings)`` for tests and ASGI servers, ``affectlab serve`` for users.

Every prediction is recorded in the audit log (``audit.AuditWriter``) and its record committed
before the response is sent. Client mistakes are 4xx with the field named — 401 (no or unknown
key), 403 (scope), 413 (body), 422 (validation), 429 (rate, with Retry-After) — never 5xx.
"""
from __future__ import annotations

import asyncio
import math
import time
import uuid
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..errors import AffectLabError
from ..forecasting.trajectory import conversation_trajectory
from .audit import AuditRecord, AuditWriter, conversation_history, read_audit
from .batching import MicroBatcher
from .database import make_engine, migrate
from .explainers import Explainers
from .keys import Caller, KeyStore
from .limits import RateLimiter, retry_after
from .metrics import Metrics
from .pipelines import PipelineHolder
from .settings import ServeSettings


class PredictRequest(BaseModel):
    """One ``text`` or a batch of ``texts``; ``context`` (previous turns, oldest first) with their
    ``context_speakers``, the ``speaker`` and ``scenario`` feed pipelines trained with them."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = None
    texts: list[str] | None = None
    context: list[str] | None = None
    context_speakers: list[str | None] | None = None
    speaker: str | None = None
    scenario: str | None = None
    pipeline: str | None = Field(None, description="a served pipeline's name (GET /v1/pipelines)")


class TurnRequest(BaseModel):
    """One new turn of a conversation the server keeps: it is predicted with the turns before it."""

    model_config = ConfigDict(extra="forbid")

    text: str
    speaker: str | None = Field(None, max_length=200)
    scenario: str | None = None
    pipeline: str | None = None


class TrajectoryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    speaker: str | None = Field(None, max_length=200)


class TrajectoryRequest(BaseModel):
    """A whole conversation, oldest turn first: every turn is predicted with the turns before it,
    and the next turn is forecast when the pipeline has a forecaster."""

    model_config = ConfigDict(extra="forbid")

    turns: list[TrajectoryTurn] = Field(min_length=1)
    times: list[float] | None = Field(None, description="each turn's start in seconds (default: one apart)")
    pipeline: str | None = None


class ExplainRequest(BaseModel):
    """One text to explain: ``target`` is a class of ``task`` (default: the primary task's
    predicted class); ``fast`` integrates in one batched pass, ``full`` with ``steps`` points."""

    model_config = ConfigDict(extra="forbid")

    text: str
    task: str | None = None
    target: str | None = None
    mode: Literal["fast", "full"] = "fast"
    steps: int | None = Field(None, ge=2, le=200)
    pipeline: str | None = None


#: Turns of history read when a pipeline does not say how many previous turns it uses.
DEFAULT_HISTORY = 8


def _invalid(field: str, message: str) -> HTTPException:
    return HTTPException(422, detail=[{"loc": ["body", field], "msg": message, "type": "value_error"}])


def _check_text(where: str, text: str, settings: ServeSettings) -> None:
    """422 naming ``where`` for an empty text or one over the length limit."""
    if not text.strip():
        raise _invalid(where, "text is empty")
    if len(text) > settings.max_text_chars:
        raise _invalid(where, f"text is {len(text)} characters; the limit is {settings.max_text_chars}")


def _check_request(body: PredictRequest, settings: ServeSettings) -> list[str]:
    if (body.text is None) == (body.texts is None):
        raise _invalid("text", "give either text (one string) or texts (a list), not both or neither")
    texts = [body.text] if body.text is not None else list(body.texts or [])
    field = "text" if body.text is not None else "texts"
    if not texts:
        raise _invalid("texts", "give at least one text")
    if len(texts) > settings.max_batch:
        raise _invalid("texts", f"at most {settings.max_batch} texts per request, got {len(texts)}")
    for i, text in enumerate(texts):
        _check_text(field if body.text is not None else f"texts[{i}]", text, settings)
    for i, turn in enumerate(body.context or []):
        if len(turn) > settings.max_text_chars:
            raise _invalid(f"context[{i}]", f"turn is {len(turn)} characters; the limit is {settings.max_text_chars}")
    if body.context_speakers is not None and len(body.context_speakers) != len(body.context or []):
        raise _invalid("context_speakers", "give one speaker per context turn")
    return texts


def _table(texts: list[str], body: PredictRequest):
    """The rows a pipeline reads: each text with the request's speaker, context and scenario."""
    import pandas as pd

    n = len(texts)
    return pd.DataFrame({"text": texts, "speaker": [body.speaker] * n,
                         "context": [list(body.context or [])] * n,
                         "context_speakers": [list(body.context_speakers or [None] * len(body.context or []))] * n,
                         "scenario": [body.scenario] * n})


def _audio_seconds(data: bytes) -> float:
    """The duration of an uploaded file; one that is not audio is a 422 naming the body."""
    import io

    import soundfile

    try:
        info = soundfile.info(io.BytesIO(data))
    except Exception:  # soundfile raises its own error types for anything it cannot read
        raise HTTPException(422, detail=[{"loc": ["body"], "type": "value_error",
                                          "msg": "the body is not an audio file soundfile reads (WAV, FLAC, OGG)"}]) from None
    return float(info.frames) / float(info.samplerate or 1)


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    settings = settings or ServeSettings()
    engine = make_engine(settings.database_url)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await run_in_threadpool(migrate, engine)
        state["keys"] = KeyStore(engine, settings.key_cache_s)
        state["writer"] = AuditWriter(engine, settings.store_text, settings.commit_window_ms)
        state["pipelines"] = await run_in_threadpool(PipelineHolder, settings.pipelines, settings.backend)
        state["batcher"] = MicroBatcher(settings.batch_max, settings.batch_wait_ms) if settings.micro_batching else None
        state["ready"] = True
        yield
        state["ready"] = False
        if state["batcher"] is not None:
            await state["batcher"].close()
        state["writer"].close()
        engine.dispose()

    app = FastAPI(title="AffectLab", version=__version__, lifespan=lifespan,
                  description="Emotion recognition behind API keys; every prediction is audited.")
    limiter = RateLimiter(settings.rate_per_minute, settings.burst)
    metrics = Metrics()
    explainers = Explainers()
    app.state.settings, app.state.engine, app.state.metrics = settings, engine, metrics

    @app.middleware("http")
    async def body_limit_and_metrics(request: Request, call_next):
        started = time.perf_counter()
        length = request.headers.get("content-length")
        limit = settings.max_audio_bytes if request.url.path == "/v1/audio" else settings.max_body_bytes
        if length is not None and (not length.isdigit() or int(length) > limit):
            response = JSONResponse({"detail": f"request body over {limit} bytes"}, status_code=413)
        else:
            response = await call_next(request)
        metrics.observe(request.url.path, response.status_code, time.perf_counter() - started)
        return response

    @app.exception_handler(AffectLabError)
    async def _user_error(_request: Request, error: AffectLabError):
        return JSONResponse({"detail": str(error)}, status_code=422)

    def caller(x_api_key: str | None = Header(None, description="your API key (affectlab keys create)")) -> Caller:
        found = state["keys"].verify(x_api_key)
        if found is None:
            raise HTTPException(401, detail="missing, unknown or revoked API key: send it in the X-API-Key header",
                                headers={"WWW-Authenticate": "X-API-Key"})
        wait = limiter.take(found.key_id)
        if wait > 0:
            raise HTTPException(429, detail="rate limit reached for this key", headers={"Retry-After": retry_after(wait)})
        return found

    def admin(who: Caller = Depends(caller)) -> Caller:
        if not who.admin:
            raise HTTPException(403, detail="this needs an admin key (affectlab keys create --admin)")
        return who

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready():
        if not state.get("ready"):
            return JSONResponse({"ready": False}, status_code=503)
        return {"ready": True, "pipelines": sorted(state["pipelines"].current.pipelines)}

    @app.get("/metrics")
    async def prometheus() -> PlainTextResponse:
        writer = state.get("writer")
        return PlainTextResponse(metrics.render(writer), media_type="text/plain; version=0.0.4")

    @app.get("/v1/pipelines")
    async def pipelines(_who: Caller = Depends(caller)) -> dict:
        served = state["pipelines"].current
        return {"default": served.default, "pipelines": [
            {"name": name, "version": p.version, "modality": p.modality, "tasks": list(p.tasks),
             "run_id": p.spec.get("provenance", {}).get("run_id")} for name, p in served.pipelines.items()]}

    @app.post("/v1/predict")
    async def predict(body: PredictRequest, who: Caller = Depends(caller)) -> dict:
        texts = _check_request(body, settings)
        name, pipeline = _served(body.pipeline)
        batcher = state["batcher"]
        if body.context or body.speaker or body.scenario:  # rows with their own context: on their own
            run = lambda: run_in_threadpool(pipeline.predict, texts, table=_table(texts, body))  # noqa: E731
        elif batcher is not None:
            run = lambda: batcher.predict(pipeline, texts)  # noqa: E731
        else:
            run = lambda: run_in_threadpool(pipeline.predict, texts)  # noqa: E731
        request_id, outputs = await _answer(who, name, pipeline, texts, run)
        answer = {"request_id": request_id, "pipeline": name, "version": pipeline.version}
        if body.text is not None:
            return {**answer, "prediction": outputs[0]}
        return {**answer, "predictions": outputs}

    def _served(name: str | None):
        try:
            found = state["pipelines"].current.get(name)
        except KeyError:
            raise _invalid("pipeline", f"no pipeline {name!r}; GET /v1/pipelines lists them") from None
        if found[1].modality != "text":
            raise _invalid("pipeline", f"{found[0]!r} is a {found[1].modality} pipeline; this endpoint reads text")
        return found

    async def _record(records: list[AuditRecord], turns: list[dict] | None = None, what: str = "request") -> None:
        """Commit audit records (and conversation turns) before the answer leaves: a failed
        commit is a 503, so no unaudited answer leaves the service."""
        try:
            await asyncio.wrap_future(state["writer"].submit(records, turns))
        except Exception:
            raise HTTPException(503, detail=f"the audit log could not record this {what}; retry later") from None

    async def _answer(who: Caller, name: str, pipeline, texts: list[str], run, turns: list[dict] | None = None):
        """Predict (``run``), then commit the audit records (and turns) before answering."""
        started = time.perf_counter()
        predictions = await run()
        latency_ms = (time.perf_counter() - started) * 1000
        request_id = str(uuid.uuid4())
        outputs = [p.to_dict() for p in predictions]
        records = [AuditRecord(who.tenant, request_id, name, pipeline.version, text,
                               {k: v for k, v in out.items() if k != "text"}, latency_ms)
                   for text, out in zip(texts, outputs)]
        for turn in turns or []:
            turn["request_id"] = request_id
        await _record(records, turns, "prediction")
        return request_id, outputs

    @app.post("/v1/explain")
    async def explain(body: ExplainRequest, who: Caller = Depends(caller)) -> dict:
        """Word attributions (Integrated Gradients) toward one class; audited like a prediction."""
        _check_text("text", body.text, settings)
        name, pipeline = _served(body.pipeline)
        options = {"task": body.task, "target": body.target, "mode": body.mode, "steps": body.steps}
        started = time.perf_counter()
        result = (await run_in_threadpool(explainers.explain, pipeline, body.text, **options)).to_dict()
        result.pop("text")
        request_id = str(uuid.uuid4())
        record = AuditRecord(who.tenant, request_id, name, pipeline.version, body.text,
                             {"explain": {k: result[k] for k in ("task", "target", "probability", "words")}},
                             (time.perf_counter() - started) * 1000)
        await _record([record])
        return {"request_id": request_id, "pipeline": name, "version": pipeline.version, "explanation": result}

    @app.post("/v1/trajectory")
    async def trajectory(body: TrajectoryRequest, who: Caller = Depends(caller)) -> dict:
        """Per-turn emotions of a conversation with their context, and the next turn's forecast
        (neural ODE) where the pipeline has one; audited like a prediction of every turn."""
        if len(body.turns) > settings.max_batch:
            raise _invalid("turns", f"{len(body.turns)} turns; the limit is {settings.max_batch}")
        if body.times is not None and len(body.times) != len(body.turns):
            raise _invalid("times", f"{len(body.times)} times for {len(body.turns)} turns")
        for i, turn in enumerate(body.turns):
            _check_text(f"turns.{i}.text", turn.text, settings)
        if body.times is not None and not all(math.isfinite(t) for t in body.times):
            raise _invalid("times", "times must be finite numbers of seconds")
        name, pipeline = _served(body.pipeline)
        texts = [t.text for t in body.turns]
        started = time.perf_counter()
        result = await run_in_threadpool(conversation_trajectory, pipeline, texts,
                                         [t.speaker for t in body.turns], body.times)
        request_id = str(uuid.uuid4())
        latency_ms = (time.perf_counter() - started) * 1000
        records = [AuditRecord(who.tenant, request_id, name, pipeline.version, turn["text"],
                               {"label": turn["label"], "probabilities": turn["probabilities"]}, latency_ms)
                   for turn in result["turns"]]
        await _record(records)
        return {"request_id": request_id, **result, "pipeline": name}

    @app.post("/v1/conversations/{conversation_id}/turns")
    async def conversation_turn(conversation_id: str, body: TurnRequest, who: Caller = Depends(caller)) -> dict:
        _check_text("text", body.text, settings)
        if not conversation_id.strip() or len(conversation_id) > 200:
            raise HTTPException(422, detail=[{"loc": ["path", "conversation_id"], "msg": "1-200 characters",
                                              "type": "value_error"}])
        name, pipeline = _served(body.pipeline)
        window = pipeline.context_turns or DEFAULT_HISTORY
        history = await run_in_threadpool(conversation_history, engine, who.tenant, conversation_id, window)
        request = PredictRequest(text=body.text, speaker=body.speaker, scenario=body.scenario,
                                 context=[t["text"] for t in history], context_speakers=[t["speaker"] for t in history])
        from datetime import timezone

        turn = {"tenant": who.tenant, "conversation_id": conversation_id, "speaker": body.speaker,
                "text": body.text, "created_at": datetime.now(timezone.utc)}
        request_id, outputs = await _answer(
            who, name, pipeline, [body.text],
            lambda: run_in_threadpool(pipeline.predict, [body.text], table=_table([body.text], request)), [turn])
        return {"request_id": request_id, "pipeline": name, "version": pipeline.version,
                "conversation_id": conversation_id, "context_turns": len(history), "prediction": outputs[0]}

    @app.post("/v1/audio")
    async def audio(request: Request, pipeline: str | None = Query(None), who: Caller = Depends(caller)) -> dict:
        """The request body is one audio file (WAV, FLAC, OGG) — ``curl --data-binary @clip.wav``."""
        data = await request.body()
        if len(data) > settings.max_audio_bytes:
            raise HTTPException(413, detail=f"request body over {settings.max_audio_bytes} bytes")
        served = state["pipelines"].current
        speech = [n for n, p in served.pipelines.items() if p.modality == "audio"]
        name = pipeline or (speech[0] if speech else None)
        if name is None or name not in served.pipelines or served.pipelines[name].modality != "audio":
            raise HTTPException(422, detail=[{"loc": ["query", "pipeline"], "type": "value_error",
                                              "msg": f"no speech pipeline {pipeline or ''!r}; served speech pipelines: {speech}"}])
        chosen = served.pipelines[name]
        seconds = _audio_seconds(data)
        if seconds > settings.max_audio_seconds:
            raise HTTPException(422, detail=[{"loc": ["body"], "type": "value_error",
                                              "msg": f"audio is {seconds:.1f} s; the limit is {settings.max_audio_seconds:g} s"}])

        def run():
            import os
            import tempfile

            with tempfile.NamedTemporaryFile(suffix=".audio", delete=False) as handle:
                handle.write(data)
            try:
                return chosen.predict([handle.name])
            finally:
                os.unlink(handle.name)

        request_id, outputs = await _answer(who, name, chosen, [data], lambda: run_in_threadpool(run))
        outputs[0].pop("text", None)
        return {"request_id": request_id, "pipeline": name, "version": chosen.version, "seconds": round(seconds, 3),
                "prediction": outputs[0]}

    @app.get("/v1/audit")
    async def audit(who: Caller = Depends(caller), since: datetime | None = Query(None),
                    until: datetime | None = Query(None), after_id: int | None = Query(None, ge=0, le=2**63 - 1),
                    limit: int = Query(100, ge=1)) -> dict:
        limit = min(limit, settings.audit_page_max)
        records = await run_in_threadpool(read_audit, engine, who.tenant, since, until, after_id, limit)
        return {"records": records, "next_after_id": records[-1]["id"] if len(records) == limit else None}

    @app.post("/v1/admin/reload")
    async def reload(_who: Caller = Depends(admin)) -> dict:
        try:
            served = await run_in_threadpool(state["pipelines"].reload)
        except Exception as error:  # a broken pipeline directory: keep serving the old set
            return JSONResponse({"reloaded": False, "detail": f"kept the running pipelines: {error}"}, status_code=409)
        return {"reloaded": True, "pipelines": {n: p.version for n, p in served.pipelines.items()}}

    return app


def app_from_environment() -> FastAPI:
    """The app of ``affectlab serve --workers N``: each worker reads the settings from the
    environment the parent set (``AFFECTLAB_SERVE_SETTINGS``, JSON)."""
    import os

    return create_app(ServeSettings.model_validate_json(os.environ["AFFECTLAB_SERVE_SETTINGS"]))
