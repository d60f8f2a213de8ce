"""Plotly figures of API answers: pure functions of plain dicts, so they are tested without a
browser or Streamlit, and the page only places them."""
from __future__ import annotations

import html
from typing import Mapping, Sequence

import plotly.graph_objects as go

from ..labels.plutchik import PRIMARIES

#: One colour per class wherever a class appears (radar, trajectory, per-class bars).
EMOTION_COLOURS = {
    "anger": "#d62728", "disgust": "#8c564b", "fear": "#9467bd", "joy": "#f2b701", "neutral": "#7f7f7f",
    "sadness": "#1f77b4", "surprise": "#17becf", "trust": "#2ca02c", "anticipation": "#ff7f0e",
}
_FALLBACK = ("#e377c2", "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
FORECAST_LABEL = "next (forecast)"


def colour(name: str, index: int = 0) -> str:
    return EMOTION_COLOURS.get(name.lower(), _FALLBACK[index % len(_FALLBACK)])


def class_order(classes: Sequence[str]) -> list[str]:
    """Plutchik primaries in wheel order (neighbours blend), any other scheme as given."""
    if set(PRIMARIES) <= set(classes):
        return [*PRIMARIES, *(c for c in classes if c not in PRIMARIES)]
    return list(classes)


def radar(probabilities: Mapping[str, float], title: str | None = None) -> go.Figure:
    """The primary task's class probabilities as a closed radar (Scatterpolar) trace."""
    if not probabilities:
        raise ValueError("a radar needs at least one class probability")
    classes = class_order(list(probabilities))
    values = [float(probabilities[c]) for c in classes]
    figure = go.Figure(go.Scatterpolar(r=[*values, values[0]], theta=[*classes, classes[0]], fill="toself",
                                       name="probability", hovertemplate="%{theta}: %{r:.3f}<extra></extra>"))
    figure.update_layout(polar={"radialaxis": {"range": [0, 1], "tickformat": ".1f"}}, showlegend=False,
                         title=title, margin={"l": 40, "r": 40, "t": 50 if title else 20, "b": 20}, height=380)
    return figure


def attribution_heatmap(words: Sequence[Mapping[str, float | str]], target: str | None = None) -> go.Figure:
    """One row of cells, one per word, coloured by attribution: red pushes toward the target class,
    blue away; the scale is symmetric so white always means no effect."""
    if not words:
        raise ValueError("an attribution heatmap needs at least one word")
    values = [float(w["attribution"]) for w in words]
    labels = [str(w["word"]) for w in words]
    bound = max(max(abs(v) for v in values), 1e-9)
    positions = list(range(len(words)))
    figure = go.Figure(go.Heatmap(
        z=[values], x=positions, y=[""], text=[labels], texttemplate="%{text}", textfont={"size": 14},
        colorscale="RdBu", reversescale=True, zmin=-bound, zmax=bound, zmid=0,
        colorbar={"title": {"text": "attribution"}, "thickness": 12},
        hovertemplate="%{text}: %{z:.3f}<extra></extra>"))
    figure.update_layout(title=f"words toward {target!r}" if target else None, height=170,
                         xaxis={"showticklabels": False, "showgrid": False}, yaxis={"showticklabels": False},
                         margin={"l": 10, "r": 10, "t": 40 if target else 10, "b": 10})
    return figure


def attribution_html(words: Sequence[Mapping[str, float | str]]) -> str:
    """The same attributions as the heatmap, as the sentence itself with coloured word
    backgrounds (readable where a long text makes heatmap cells too narrow)."""
    bound = max([abs(float(w["attribution"])) for w in words] + [1e-9])
    spans = []
    for w in words:
        value = float(w["attribution"])
        alpha = min(abs(value) / bound, 1.0) * 0.8
        rgb = "214,39,40" if value >= 0 else "31,119,180"
        spans.append(f'<span class="affectlab-word" title="{value:+.3f}" style="background: rgba({rgb},{alpha:.2f}); '
                     f'padding: 1px 3px; border-radius: 3px">{html.escape(str(w["word"]))}</span>')
    return '<p class="affectlab-attributions" style="line-height: 2">' + " ".join(spans) + "</p>"


def trajectory_area(classes: Sequence[str], turns: Sequence[Mapping], forecast: Mapping | None = None) -> go.Figure:
    """Per-turn class probabilities stacked (each turn sums to 1), x = turn number and speaker;
    the forecast, when given, continues every band to an extra x ``next (forecast)`` drawn dashed
    and pale, so it is never read as a turn that happened."""
    if not turns:
        raise ValueError("a trajectory needs at least one turn")
    order = class_order(list(classes) or list(turns[0]["probabilities"]))
    x = [f"{i + 1} · {t.get('speaker') or '?'}" for i, t in enumerate(turns)]
    figure = go.Figure()
    for i, name in enumerate(order):
        figure.add_trace(go.Scatter(
            x=x, y=[float(t["probabilities"].get(name, 0.0)) for t in turns], name=name, mode="lines",
            stackgroup="turns", line={"width": 0.5, "color": colour(name, i)}, legendgroup=name,
            hovertemplate=f"{name}: %{{y:.3f}}<extra></extra>"))
    if forecast and forecast.get("probabilities"):
        last = turns[-1]["probabilities"]
        for i, name in enumerate(order):
            figure.add_trace(go.Scatter(
                x=[x[-1], FORECAST_LABEL], y=[float(last.get(name, 0.0)), float(forecast["probabilities"].get(name, 0.0))],
                name=f"{name} (forecast)", mode="lines", stackgroup="forecast", legendgroup=name, showlegend=False,
                line={"width": 1.5, "dash": "dash", "color": colour(name, i)}, opacity=0.45,
                hovertemplate=f"{name} forecast: %{{y:.3f}}<extra></extra>"))
    # multi-label schemes' probabilities need not sum to 1: the axis then grows to the tallest stack
    stacks = [sum(float(v) for v in t["probabilities"].values()) for t in turns]
    if forecast and forecast.get("probabilities"):
        stacks.append(sum(float(v) for v in forecast["probabilities"].values()))
        figure.add_vline(x=len(x) - 1, line={"dash": "dot", "color": "#555", "width": 1})
        figure.add_annotation(x=FORECAST_LABEL, y=max(1.0, *stacks) * 1.04, yref="y",
                              text=forecast.get("method", "forecast"), showarrow=False,
                              font={"size": 11, "color": "#555"})
    figure.update_layout(yaxis={"range": [0, max(1.0, *stacks) * 1.08], "title": {"text": "probability"}},
                         xaxis={"title": {"text": "turn"}, "type": "category"}, height=420,
                         legend={"orientation": "h", "y": -0.25}, margin={"l": 50, "r": 20, "t": 30, "b": 40})
    return figure


def wheel_figure(wheel: Mapping, probabilities: Mapping[str, float]) -> go.Figure:
    """Plutchik's eight petals (wheel order) sized by probability, the present primaries opaque;
    the title names the wheel state (a primary at its band, or a dyad)."""
    present = set(wheel.get("primaries") or [])
    petals = list(PRIMARIES)
    figure = go.Figure(go.Barpolar(
        r=[float(probabilities.get(p, 0.0)) for p in petals], theta=petals,
        marker={"color": [colour(p, i) for i, p in enumerate(petals)],
                "opacity": [0.95 if p in present else 0.3 for p in petals]},
        hovertemplate="%{theta}: %{r:.3f}<extra></extra>"))
    figure.update_layout(title=f"wheel: {describe_wheel(wheel)}", polar={"radialaxis": {"range": [0, 1]}},
                         showlegend=False, height=360, margin={"l": 40, "r": 40, "t": 50, "b": 20})
    return figure


def describe_wheel(wheel: Mapping) -> str:
    """``state (band)``, the dyad's primaries, and any conflicts, in one line."""
    text = str(wheel.get("state", "?"))
    if wheel.get("dyad"):
        text += f" (dyad of {' + '.join(wheel.get('primaries') or [])})"
    elif wheel.get("band"):
        text += f" ({wheel['band']})"
    conflicts = wheel.get("conflicts") or []
    if conflicts:
        text += "; conflicts: " + ", ".join(" vs ".join(pair) for pair in conflicts)
    return text


def per_class_bars(per_class: Mapping[str, Mapping[str, float]], title: str | None = None) -> go.Figure:
    """Grouped bars of per-class figures (e.g. an LLM comparison's agreement or F1 per class)."""
    classes = list(per_class)
    metrics = sorted({m for row in per_class.values() for m, v in row.items() if isinstance(v, (int, float))})
    figure = go.Figure([go.Bar(name=m, x=classes, y=[per_class[c].get(m) for c in classes]) for m in metrics])
    figure.update_layout(barmode="group", title=title, height=380, margin={"l": 50, "r": 20, "t": 50, "b": 40})
    return figure
