"""A drift report as one HTML page: a verdict line, a bar chart per column that drifted (and
the highest scores after them), reference bins against the window's, and a table of all.
Charts are inline SVG, so the page needs no plotting library and no network."""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["MAX_CHARTS", "render", "svg_chart"]

MAX_CHARTS = 12
_WIDTH, _HEIGHT, _PAD = 520, 180, 28


def svg_chart(column: dict[str, Any]) -> str:
    """Reference (grey) and window (orange, red when drifted) shares per bin."""
    reference, window, bins = column["reference"], column["window"], column["bins"]
    top = max([*reference, *window, 0.01])
    slot = (_WIDTH - 2 * _PAD) / max(len(bins), 1)
    bar = slot * 0.4
    colour = "#d62728" if column["drifted"] else "#ff7f0e"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT + 40}" '
        f'role="img"><title>{escape(column["name"])}</title>',
        f'<text x="{_PAD}" y="16" font-size="13">{escape(column["name"])} score '
        f"{column['score']:.2f}{' DRIFT' if column['drifted'] else ''}</text>",
    ]
    for index, (ref, win) in enumerate(zip(reference, window, strict=True)):
        x = _PAD + index * slot
        for offset, share, fill in ((0.0, ref, "#999"), (bar, win, colour)):
            height = (_HEIGHT - _PAD) * share / top
            y = _HEIGHT - height
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{fill}"/>'
            )
        label = escape(str(bins[index]))[:10] if index < len(bins) else ""
        parts.append(f'<text x="{x:.1f}" y="{_HEIGHT + 14}" font-size="9">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(report: dict[str, Any]) -> str:
    model = report["model"]
    columns = [*report["features"], *report["outputs"]]
    charted = sorted(columns, key=lambda c: (-c["drifted"], -c["score"]))[:MAX_CHARTS]
    feedback = report["feedback"]
    rows = "".join(
        f"<tr><td>{escape(c['name'])}</td><td>{c['kind']}</td><td>{c['score']:.3f}</td>"
        f"<td>{'yes' if c['drifted'] else ''}</td><td>"
        + ", ".join(
            f"{k} {v['value']:.4g} / {v['critical']:.4g}" for k, v in c["statistics"].items()
        )
        + "</td></tr>"
        for c in charted + [c for c in columns if c not in charted]
    )
    labelled = (
        f"{feedback['metric']} {feedback['value']} over {feedback['rows']} labelled rows"
        if feedback["rows"]
        else "no labels in this window"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>drift: {escape(model['name'])} {escape(model['version'])}</title></head><body>"
        f"<h1>{escape(model['name'])} {escape(model['version'])}: {report['status']}</h1>"
        f"<p>{report['window']['start']} to {report['window']['end']}: {report['requests']} "
        f"requests, {report['rows']} rows against {report['reference_rows']} reference rows; "
        f"{report['tests']} tests at a window-wide alpha of {report['alpha']}. {labelled}.</p>"
        + "".join(f"<div>{svg_chart(c)}</div>" for c in charted)
        + "<table border='1' cellspacing='0'><tr><th>column</th><th>kind</th><th>score</th>"
        "<th>drift</th><th>statistic / critical</th></tr>" + rows + "</table></body></html>"
    )
