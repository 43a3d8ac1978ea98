"""The run's page, report.html: summary.json's tables above the charts, one HTML page that
opens offline (plotly, its JavaScript inlined).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from loadplan.analysis import BUCKET_SECONDS, Bucket
from loadplan.sampler import Sample

# A table's title, then its header row and its rows.
Table = tuple[str, list[list[str]]]


@dataclass(frozen=True)
class FaultSpan:
    label: str
    start: float
    end: float
    """Seconds since the run started: from the injection to full readiness (or, when it never
    came, the end of the fault's window)."""


def _table(title: str, rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return ""
    head, *body = rows
    cells = "".join(f"<th>{html.escape(cell)}</th>" for cell in head)
    lines = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in body
    )
    table = f"<table><thead><tr>{cells}</tr></thead><tbody>{lines}</tbody></table>"
    return f"<h2>{html.escape(title)}</h2>{table}"


def summary_tables(summary: dict[str, Any]) -> list[Table]:
    """The page's tables, from summary.json: the gates first, the writes read back last."""
    overall = summary["overall"]
    tables: list[Table] = [
        (
            "Gates",
            [
                ["gate", "value", "passed"],
                *(
                    [g["name"], g["value"], "yes" if g["passed"] else "NO"]
                    for g in summary["gates"]
                ),
            ],
        ),
        (
            "Overall",
            [
                ["requests", "failures", "error rate", "requests/s", "p50 ms", "p95 ms", "p99 ms"],
                [
                    str(overall["requests"]),
                    str(overall["failures"]),
                    f"{overall['error_rate']:.2%}",
                    f"{overall['requests_per_second']:.1f}",
                    f"{overall['p50_ms']:g}",
                    f"{overall['p95_ms']:g}",
                    f"{overall['p99_ms']:g}",
                ],
            ],
        ),
    ]
    if summary["stress"] is not None:
        tables.append(_stress_table(summary["stress"]))
    if summary["faults"]:
        tables.append(_faults_table(summary["faults"]))
    if outs := summary["sampling"]["scale_outs"]:
        tables.append(_scale_outs_table(outs))
    loss = summary["data_loss"]
    tables.append(
        (
            "Acknowledged writes read back",
            [
                ["checked", "lost", "applied twice"],
                [str(loss["checked"]), str(loss["lost"]), str(loss["duplicated"])],
            ],
        )
    )
    return tables


def _stress_table(stress: dict[str, Any]) -> Table:
    return (
        "Stress steps (breaking point: " + stress["verdict"] + ")",
        [
            ["users", "requests", "error rate", "p95 ms", "broke"],
            *(
                [
                    str(s["users"]),
                    str(s["requests"]),
                    f"{s['error_rate']:.2%}",
                    f"{s['p95_ms']:g}",
                    "yes" if s["broke"] else "",
                ]
                for s in stress["steps"]
            ),
        ],
    )


def _faults_table(faults: list[dict[str, Any]]) -> Table:
    rows = [
        [
            "fault",
            "what",
            "failed (share)",
            "through the frontend",
            "longest gap s (all / frontend / api)",
            "time to full readiness s",
            "writes lost / applied twice",
        ]
    ]
    for fault in faults:
        if fault.get("skipped"):
            rows.append([fault["kind"], f"not injected: {fault['skipped']}", "", "", "", "", ""])
            continue
        gaps = fault["longest_gap_without_success_seconds"]
        rows.append(
            [
                fault["kind"],
                fault["detail"],
                f"{fault['failed_requests']} ({fault['failed_share']:.2%})",
                str(fault["failed_by_channel"].get("frontend", 0)),
                " / ".join(str(gaps.get(key, "-")) for key in ("all", "frontend", "api")),
                str(
                    fault["time_to_full_readiness_seconds"]
                    if fault["time_to_full_readiness_seconds"] is not None
                    else fault["problem"]
                ),
                f"{fault['acknowledged_writes_lost']} / {fault['writes_applied_twice']}"
                if fault["acknowledged_writes_lost"] is not None
                else str(fault["read_back_problem"]),
            ]
        )
    return ("Faults", rows)


def _scale_outs_table(outs: list[dict[str, Any]]) -> Table:
    return (
        "Scale-outs (seen every 5 s)",
        [
            ["autoscaler", "replicas", "decided at s", "CPU %", "all ready at s", "took s"],
            *(
                [
                    out["autoscaler"],
                    f"{out['from_replicas']} -> {out['to_replicas']}",
                    f"{out['decided_at']:g}",
                    "-" if out["cpu_percent"] is None else str(out["cpu_percent"]),
                    "never" if out["ready_at"] is None else f"{out['ready_at']:g}",
                    "-" if out["seconds_to_ready"] is None else f"{out['seconds_to_ready']:g}",
                ]
                for out in outs
            ),
        ],
    )


def _sampled_rows(
    figure: go.Figure, samples: Sequence[Sample], started_at: float, first_row: int
) -> None:
    seconds = [sample.at - started_at for sample in samples]
    workloads = sorted({name for sample in samples for name in sample.workloads})
    for name in workloads:
        for field, dash in (("ready", "solid"), ("desired", "dot")):
            values = [
                getattr(s.workloads[name], field) if name in s.workloads else None for s in samples
            ]
            figure.add_trace(
                go.Scatter(
                    x=seconds, y=values, name=f"{name} {field}", line={"dash": dash, "shape": "hv"}
                ),
                row=first_row,
                col=1,
            )
    for name in sorted({name for sample in samples for name in sample.autoscalers}):
        for field, dash in (("desired", "dash"), ("current", "longdash")):
            values = [
                getattr(s.autoscalers[name], field) if name in s.autoscalers else None
                for s in samples
            ]
            figure.add_trace(
                go.Scatter(
                    x=seconds,
                    y=values,
                    name=f"hpa/{name} {field}",
                    line={"dash": dash, "shape": "hv"},
                ),
                row=first_row,
                col=1,
            )
    pods = sorted({name for sample in samples for name in sample.pods})
    for name in pods:
        cpu = [s.pods[name].cpu_millicores if name in s.pods else None for s in samples]
        memory = [s.pods[name].memory_mib if name in s.pods else None for s in samples]
        figure.add_trace(
            go.Scatter(x=seconds, y=cpu, name=f"{name} CPU", legendgroup=name),
            row=first_row + 1,
            col=1,
        )
        figure.add_trace(
            go.Scatter(
                x=seconds, y=memory, name=f"{name} memory", legendgroup=name, showlegend=False
            ),
            row=first_row + 2,
            col=1,
        )
    for node in sorted({name for sample in samples for name in sample.node_cpu_percent}):
        values = [s.node_cpu_percent.get(node) for s in samples]
        figure.add_trace(
            go.Scatter(x=seconds, y=values, name=f"node {node} CPU %"), row=first_row + 3, col=1
        )
    host = [s.host_cpu_percent for s in samples]
    figure.add_trace(
        go.Scatter(x=seconds, y=host, name="this machine CPU % (/proc/stat)", line={"dash": "dot"}),
        row=first_row + 3,
        col=1,
    )


def write_page(
    path: Path,
    title: str,
    tables: Sequence[tuple[str, Sequence[Sequence[str]]]],
    notes: Sequence[str],
    buckets: Sequence[Bucket],
    samples: Sequence[Sample],
    started_at: float,
    faults: Sequence[FaultSpan],
) -> None:
    sampled = bool(samples)
    titles = [
        "Latency (ms)",
        "Throughput and errors (requests/s) and users",
        *(
            [
                "Replicas (ready, desired) and HPA",
                "Pod CPU (millicores)",
                "Pod memory (MiB)",
                "Node and machine CPU (%)",
            ]
            if sampled
            else []
        ),
    ]
    rows = len(titles)
    figure = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        subplot_titles=titles,
        vertical_spacing=0.05,
        specs=[[{"secondary_y": index == 1}] for index in range(rows)],
    )
    middle = [bucket.start + BUCKET_SECONDS / 2 for bucket in buckets]
    for label, values in (
        ("p50", [b.figures.p50_ms for b in buckets]),
        ("p95", [b.figures.p95_ms for b in buckets]),
        ("p99", [b.figures.p99_ms for b in buckets]),
    ):
        figure.add_trace(go.Scatter(x=middle, y=values, name=f"{label} ms"), row=1, col=1)
    figure.add_trace(
        go.Scatter(x=middle, y=[b.figures.requests_per_second for b in buckets], name="requests/s"),
        row=2,
        col=1,
    )
    errors = [b.figures.failures / BUCKET_SECONDS for b in buckets]
    figure.add_trace(
        go.Bar(x=middle, y=errors, name="failed requests/s", marker_color="crimson"), row=2, col=1
    )
    figure.add_trace(
        go.Scatter(
            x=middle,
            y=[b.users for b in buckets],
            name="users",
            line={"shape": "hv", "dash": "dot"},
        ),
        row=2,
        col=1,
        secondary_y=True,
    )
    if sampled:
        _sampled_rows(figure, samples, started_at, first_row=3)
    for fault in faults:
        figure.add_vrect(
            x0=fault.start,
            x1=max(fault.end, fault.start + 1),
            row="all",
            col=1,
            fillcolor="orange",
            opacity=0.2,
            line_width=0,
        )
        figure.add_vline(x=fault.start, line_color="darkorange", row="all", col=1)
        figure.add_annotation(
            x=fault.start,
            y=1.0,
            yref="paper",
            text=fault.label,
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
        )
    figure.update_yaxes(title_text="users", rangemode="tozero", secondary_y=True, row=2, col=1)
    figure.update_xaxes(title_text="seconds since the load started", row=rows, col=1)
    figure.update_layout(height=300 * rows, title=title, legend={"groupclick": "toggleitem"})
    chart = figure.to_html(include_plotlyjs=True, full_html=False)
    sections = "".join(_table(name, rows_) for name, rows_ in tables)
    note_items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    path.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:1.5rem}table{border-collapse:collapse;margin-bottom:1rem}"
        "td,th{border:1px solid #bbb;padding:.25rem .6rem;text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{sections}"
        f"{'<h2>Notes</h2><ul>' + note_items + '</ul>' if notes else ''}{chart}</body></html>"
    )
