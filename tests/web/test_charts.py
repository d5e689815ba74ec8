"""Charts: titled, whole-number axes, months grouped when a period is long."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client


def test_months_group_into_quarters_then_years() -> None:
    from datetime import date

    from fellwatch.web.records.stats import months
    from fellwatch.web.records.stats_views import buckets

    assert len(buckets(months(date(2025, 1, 1), date(2026, 12, 31)))) == 24
    quarters = buckets(months(date(2024, 2, 1), date(2026, 12, 31)))
    assert quarters[0] == ("2024 Q1", ["2024-02", "2024-03"]) and len(quarters) == 12
    years = buckets(months(date(2018, 1, 1), date(2026, 12, 31)))
    assert [y for y, _ in years] == [str(y) for y in range(2018, 2027)]


def test_a_chart_is_titled_with_whole_number_guides(world: dict[str, Any],
                                                    client: Client) -> None:
    client.force_login(world["supervisor"])
    svg = client.get("/stats/chart/enforcement.svg",
                     {"from": "2024-01-01", "to": "2026-06-30"}).content.decode()
    assert "Arrests, warrants executed, cases opened and closed per quarter" in svg
    assert "2026 Q1" in svg and "2026-03" not in svg
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", svg)
    assert "0" in labels and "1" in labels
    assert not [t for t in labels if re.fullmatch(r"\d+\.\d+", t.strip())], labels
