"""The dashboard's picture page: every panel in the dashboard's order, offline, empty ones said."""

from __future__ import annotations

import re

from loadplan.dashboard import DashboardData, page


def test_every_panel_is_drawn_offline_and_an_empty_one_says_so() -> None:
    data: DashboardData = {
        "namespace": "todo-dev",
        "panels": [
            {
                "title": "Requests per second",
                "series": [
                    {"legend": "backend", "points": [[1_000.0, 0.5], [1_015.0, 0.75]]},
                    {"legend": "frontend", "points": [[1_000.0, 1.0], [1_015.0, 1.25]]},
                ],
            },
            {"title": "Replicas", "series": []},
            {"title": "CPU", "series": [{"legend": "backend-1", "points": [[1_000.0, 0.02]]}]},
        ],
    }
    text = page(data)
    # Subplot titles are layout annotations, in the dashboard's order.
    annotations = text[text.index('"annotations":[') :]
    titles = re.findall(r'"text":"([^"]+)"', annotations)
    assert titles[:3] == ["Requests per second", "Replicas (no data here)", "CPU"]
    assert "Todo app, namespace todo-dev" in text
    # Three traces with their legends, plotly's code inline and no script from elsewhere.
    for legend in ("backend", "frontend", "backend-1"):
        assert f'"name":"{legend}"' in text
    assert "<script src=" not in text
