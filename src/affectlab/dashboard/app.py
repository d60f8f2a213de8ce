"""The Streamlit page of ``affectlab dashboard``: a sidebar (API, pipeline, defaults) and one tab
per view. It only calls the service API (``client.ApiClient``); figures come from ``charts``,
CSV handling from ``batch``. Run it with ``affectlab dashboard``, which starts
``streamlit run`` on this file with ``-- --api URL`` and the key in ``AFFECTLAB_API_KEY``.

Answers are kept in ``st.session_state`` so that acting in one tab (each action reruns the
script) does not call the API again for the others.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import streamlit as st

from affectlab.dashboard import batch, charts, conversation
from affectlab.dashboard.client import ApiClient, ApiError, PipelineInfo
from affectlab.dashboard.llm_report import load_report
from affectlab.errors import AffectLabError

KEY_ENV = "AFFECTLAB_API_KEY"
EXAMPLE_CONVERSATION = "Alice: I finally got the job!\nBob: No way, that's amazing.\nAlice: But I have to move away."


def options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The arguments after ``streamlit run app.py --``; none when the script is run another way
    (``AppTest``), so the sidebar fields start empty there."""
    parser = argparse.ArgumentParser(prog="affectlab dashboard (page)")
    parser.add_argument("--api", default=os.environ.get("AFFECTLAB_API_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--llm-url", default="")
    parser.add_argument("--llm-report", default="")
    if argv is None:
        argv = sys.argv[1:] if sys.argv and Path(sys.argv[0]).resolve() == Path(__file__).resolve() else []
    return parser.parse_known_args(list(argv))[0]


def _start(key: str, value: Any) -> None:
    """A widget's first value (from the command line), set once so later edits stick."""
    if key not in st.session_state:
        st.session_state[key] = value


def sidebar(opts: argparse.Namespace) -> tuple[ApiClient, PipelineInfo, batch.Defaults]:
    """The API, the pipeline in use and the defaults; a clear error (and nothing else) when the
    API cannot be used."""
    _start("api_url", opts.api)
    _start("api_key", os.environ.get(KEY_ENV, ""))
    _start("llm_url", opts.llm_url)
    _start("llm_report", opts.llm_report)
    bar = st.sidebar
    bar.title("AffectLab")
    bar.text_input("API URL", key="api_url", help="the `affectlab serve` this page calls")
    bar.text_input("API key", key="api_key", type="password",
                   help=f"from --key or {KEY_ENV}; create one with `affectlab keys create --tenant NAME`")
    try:
        client = ApiClient(st.session_state["api_url"], st.session_state["api_key"] or None)
        served = client.pipelines()
    except ApiError as error:
        st.error(f"**The API cannot be used.** {error}")
        st.stop()
    text = [p for p in served["pipelines"] if p["modality"] == "text"]
    if not text:
        st.error("The API serves no text pipeline: start `affectlab serve --pipelines DIR` with one.")
        st.stop()
    names = [p["name"] for p in text]
    _start("pipeline", served["default"] if served["default"] in names else names[0])
    bar.selectbox("Pipeline", names, key="pipeline")
    info = next(p for p in text if p["name"] == st.session_state["pipeline"])
    bar.caption(f"in use: **{info['name']}** version `{info['version']}` · tasks: {', '.join(info['tasks'])}"
                + (f" · run `{info['run_id']}`" if info.get("run_id") else ""))
    bar.subheader("Defaults")
    bar.caption("used where a turn or a CSV row gives none")
    defaults = batch.Defaults(bar.text_input("Speaker", key="default_speaker"),
                              bar.text_input("Topic", key="default_topic"),
                              bar.text_input("Scenario", key="default_scenario"))
    bar.subheader("LLM comparison")
    bar.text_input("LLM endpoint URL", key="llm_url", help="--llm-url; shows the LLM comparison tab")
    bar.text_input("compare-llm report (JSON)", key="llm_report", help="--llm-report PATH")
    return client, info, defaults


def _show_error(error: Exception) -> None:
    st.error(str(error) if isinstance(error, AffectLabError) else f"unexpected error: {type(error).__name__}: {error}")


# ---- one text ------------------------------------------------------------------------------
def one_text_view(client: ApiClient, pipeline: str, defaults: batch.Defaults) -> None:
    with st.form("one_text_form"):
        text = st.text_area("Text", key="one_text", placeholder="I can't believe you did this!")
        mode = st.radio("Attribution", ["fast", "full"], horizontal=True, key="explain_mode",
                        help="fast: one batched pass; full: more integration steps, slower")
        submitted = st.form_submit_button("Analyse", key="analyse")
    if submitted:
        st.session_state["one_text_result"] = _analyse(client, text, pipeline, mode, defaults)
    result = st.session_state.get("one_text_result")
    if not result:
        return
    if result.get("error"):
        st.error(result["error"])
        return
    prediction = result["prediction"]
    label = prediction["label"]
    shown = ", ".join(label) if isinstance(label, list) else label
    left, right = st.columns(2)
    with left:
        st.markdown(f'<p class="affectlab-label">Predicted emotion: <b>{shown}</b></p>', unsafe_allow_html=True)
        st.plotly_chart(charts.radar(prediction["probabilities"]), key="radar")
    with right:
        wheel = (prediction.get("extras") or {}).get("wheel")
        if wheel:
            st.markdown(f"**Wheel state:** {charts.describe_wheel(wheel)}")
            st.plotly_chart(charts.wheel_figure(wheel, prediction["probabilities"]), key="wheel")
        ranked = sorted(prediction["probabilities"].items(), key=lambda item: -item[1])
        st.dataframe(pd.DataFrame(ranked, columns=["class", "probability"]).round(4), hide_index=True,
                     key="probabilities")
    explanation = result.get("explanation")
    if explanation:
        st.subheader("Which words made it")
        st.plotly_chart(charts.attribution_heatmap(explanation["words"], explanation.get("target")), key="heatmap")
        st.markdown(charts.attribution_html(explanation["words"]), unsafe_allow_html=True)
        st.caption(f"toward **{explanation.get('target')}** (p = {explanation.get('probability', 0):.3f}) · "
                   f"{explanation.get('mode')} mode, {explanation.get('steps')} steps · convergence delta "
                   f"{explanation.get('delta', float('nan')):.3f} (near 0: the attributions add up)")
    elif result.get("explain_error"):
        st.warning(f"No word attributions: {result['explain_error']}")


def _analyse(client: ApiClient, text: str, pipeline: str, mode: str, defaults: batch.Defaults) -> dict[str, Any]:
    if not text.strip():
        return {"error": "Type a text first."}
    try:
        prediction = client.predict(text, pipeline, defaults.speaker or None, defaults.scenario or None)
    except AffectLabError as error:
        return {"error": str(error)}
    try:
        return {"prediction": prediction, "explanation": client.explain(text, pipeline, mode)}  # type: ignore[arg-type]
    except AffectLabError as error:  # e.g. a pipeline Integrated Gradients cannot explain: keep the prediction
        return {"prediction": prediction, "explain_error": str(error)}


# ---- conversation --------------------------------------------------------------------------
def conversation_view(client: ApiClient, pipeline: str, defaults: batch.Defaults) -> None:
    with st.form("conversation_form"):
        typed = st.text_area("Turns, one per line as `Speaker: text`", key="conversation", height=160,
                             placeholder=EXAMPLE_CONVERSATION)
        submitted = st.form_submit_button("Show trajectory", key="show_trajectory")
    if submitted:
        try:
            turns = conversation.parse_turns(typed, defaults.speaker or None)
            found, complete = conversation.trajectory(client, turns, pipeline)
            st.session_state["trajectory"] = {"trajectory": found, "complete": complete}
        except AffectLabError as error:
            st.session_state["trajectory"] = {"error": str(error)}
    result = st.session_state.get("trajectory")
    if not result:
        return
    if result.get("error"):
        st.error(result["error"])
        return
    found = result["trajectory"]
    rows = [{"turn": i + 1, "speaker": t.get("speaker") or "", "text": t["text"],
             "label": ", ".join(t["label"]) if isinstance(t["label"], list) else t["label"],
             "p": round(max(t["probabilities"].values()), 3) if t["probabilities"] else None,
             "context the model used": " ⏎ ".join(t.get("context") or []) or "(none)"}
            for i, t in enumerate(found["turns"])]
    if any(t.get("intensity") is not None for t in found["turns"]):
        for row, turn in zip(rows, found["turns"]):
            row["intensity"] = turn.get("intensity")
    if any(t.get("wheel") for t in found["turns"]):  # the engine: where each turn sits on the wheel
        for row, turn in zip(rows, found["turns"]):
            row["wheel"] = charts.describe_wheel(turn["wheel"]) if turn.get("wheel") else ""
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="turns_table")
    st.plotly_chart(charts.trajectory_area(found["classes"], found["turns"], found.get("forecast")), key="trajectory")
    forecast = found.get("forecast")
    if forecast:
        top = max(forecast["probabilities"], key=forecast["probabilities"].get)
        st.caption(f"next turn (forecast, {forecast.get('method')}): most likely **{top}** "
                   f"(p = {forecast['probabilities'][top]:.3f}) — dashed, after the dotted line")
    elif not result["complete"]:
        st.info("This server has no `POST /v1/trajectory` yet: the turns were predicted one by one as a server-kept "
                "conversation, so there is no forecast of the next turn.")


# ---- batch ---------------------------------------------------------------------------------
def batch_view(client: ApiClient, pipeline: str, defaults: batch.Defaults) -> None:
    st.caption("A CSV with a `text` column; `speaker`, `topic`, `scenario` are optional (blank cells take the "
               "sidebar defaults). Plain texts go 64 per request; rows with a speaker or scenario one by one.")
    upload = st.file_uploader("CSV file", type=["csv"], key="batch_file")
    if upload is None:
        st.session_state.pop("batch_result", None)
        return
    try:
        frame = batch.fill_defaults(batch.read_csv(upload.getvalue(), upload.name), defaults)
    except AffectLabError as error:
        st.error(str(error))
        return
    requests = len(batch.plan(frame))
    st.write(f"{len(frame)} rows, {requests} request{'s' if requests != 1 else ''}")
    if st.button(f"Score {len(frame)} rows", key="batch_score"):
        bar = st.progress(0.0, text="scoring ...")
        try:
            scored = batch.score(client, frame, pipeline,
                                 lambda done, total: bar.progress(done / total, text=f"{done} / {total} rows"))
            st.session_state["batch_result"] = {"name": upload.name, "frame": scored}
        except AffectLabError as error:
            st.error(str(error))
            return
    result = st.session_state.get("batch_result")
    if result and result["name"] == upload.name:
        st.dataframe(result["frame"], hide_index=True, key="batch_table")
        st.download_button("Download results (CSV)", batch.to_csv(result["frame"]),
                           file_name=f"{Path(upload.name).stem}-scored.csv", mime="text/csv", key="batch_download")


# ---- LLM comparison ------------------------------------------------------------------------
def llm_view(llm_url: str, report_path: str) -> None:
    st.caption(f"LLM endpoint: `{llm_url}`")
    if not report_path.strip():
        st.info("Give a report to show here: run `affectlab compare-llm` against this endpoint, then start the "
                "dashboard with `--llm-report REPORT.json` (or type its path in the sidebar).")
        return
    try:
        report = load_report(report_path)
    except AffectLabError as error:
        st.error(str(error))
        return
    if report.about:
        st.caption(" · ".join(f"{k}: {v}" for k, v in report.about.items()))
    columns = st.columns(max(1, min(4, len(report.agreement))))
    for i, (name, value) in enumerate(report.agreement.items()):
        columns[i % len(columns)].metric(name.replace("_", " "), f"{value:.3f}")
    if report.per_class:
        st.plotly_chart(charts.per_class_bars(report.per_class, "per class"), key="llm_per_class")
        st.dataframe(pd.DataFrame(report.per_class).T, key="llm_table")


def main() -> None:
    st.set_page_config(page_title="AffectLab dashboard", layout="wide")
    opts = options()
    client, info, defaults = sidebar(opts)
    llm_url = st.session_state["llm_url"].strip()
    views = ["One text", "Conversation", "Batch"] + (["LLM comparison"] if llm_url else [])
    tabs = st.tabs(views)
    try:
        with tabs[0]:
            one_text_view(client, info["name"], defaults)
        with tabs[1]:
            conversation_view(client, info["name"], defaults)
        with tabs[2]:
            batch_view(client, info["name"], defaults)
        if llm_url:
            with tabs[3]:
                llm_view(llm_url, st.session_state["llm_report"])
    except Exception as error:  # never a traceback on the page: say what failed
        _show_error(error)
    finally:
        client.close()
    if not llm_url:
        st.sidebar.caption("Set an LLM endpoint (--llm-url) to compare with an LLM.")


if __name__ == "__main__":  # streamlit run (and AppTest) run the page as __main__
    main()
