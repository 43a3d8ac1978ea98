"""The Grafana dashboard's panels drawn from what they showed in an end-to-end run.

The e2e suite's monitoring check asks a real Prometheus for every panel of
helm/todo-app/monitoring/dashboard.json and saves the answers (`dashboard-data.json` in the
run's results); this draws them as the dashboard lays them out, two panels a row, on one
offline HTML page, from which docs/dashboard.png is a browser's screenshot:

    python -m loadplan.dashboard RESULTS/dashboard-data.json OUT.html
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

import plotly.graph_objects as go
from plotly.subplots import make_subplots


class Series(TypedDict):
    legend: str
    points: list[list[float]]


class Panel(TypedDict):
    title: str
    series: list[Series]


class DashboardData(TypedDict):
    namespace: str
    panels: list[Panel]


COLUMNS = 2


def page(data: DashboardData) -> str:
    """The panels as one figure (a subplot each, in the dashboard's order), in a whole page."""
    panels = data["panels"]
    rows = (len(panels) + COLUMNS - 1) // COLUMNS
    titles = [
        panel["title"] if panel["series"] else f"{panel['title']} (no data here)"
        for panel in panels
    ]
    figure = make_subplots(rows=rows, cols=COLUMNS, subplot_titles=titles, vertical_spacing=0.08)
    for index, panel in enumerate(panels):
        row, col = index // COLUMNS + 1, index % COLUMNS + 1
        for series in panel["series"]:
            times = [datetime.fromtimestamp(point[0], UTC) for point in series["points"]]
            values = [point[1] for point in series["points"]]
            # One legend for the page, grouped under each panel's title.
            figure.add_trace(
                go.Scatter(
                    x=times,
                    y=values,
                    name=series["legend"],
                    mode="lines",
                    legendgroup=panel["title"],
                    legendgrouptitle_text=panel["title"],
                ),
                row=row,
                col=col,
            )
    figure.update_layout(
        height=280 * rows,
        width=1400,
        title=f"Todo app, namespace {data['namespace']}",
        legend={"groupclick": "toggleitem", "font": {"size": 10}},
        margin={"l": 40, "r": 20, "t": 80, "b": 30},
    )
    whole_page: str = figure.to_html(
        include_plotlyjs=True, full_html=True, config={"displayModeBar": False}
    )
    return whole_page


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m loadplan.dashboard DASHBOARD_DATA.json OUT.html", file=sys.stderr)
        return 2
    data: DashboardData = json.loads(Path(argv[0]).read_text())
    Path(argv[1]).write_text(page(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
