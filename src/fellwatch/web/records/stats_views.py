"""The statistics page, its JSON endpoint, charts and the publishable summary."""

from __future__ import annotations

from datetime import date
from typing import Any

import pygal
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from pygal.style import Style

from fellwatch.web.audit.log import record
from fellwatch.web.records import stats
from fellwatch.web.records.access import deny, officer_of, role_of
from fellwatch.web.records.forms import PeriodForm
from fellwatch.web.records.models import ExhibitType, Role, Unit

CHARTS: dict[str, list[str]] = {
    "enforcement": ["arrests", "warrants_executed", "cases_opened", "cases_closed"],
    "exhibits": ["exhibits_seized", "exhibits_examined"],
    "safeguarding": ["children_safeguarded"],
}
CHART_TITLES = {"enforcement": "Arrests, warrants executed, cases opened and closed",
                "exhibits": "Exhibits seized and examined",
                "safeguarding": "Children safeguarded"}


def exact_for(request: HttpRequest) -> bool:
    """Exact figures for any period, however small, are the supervisors'. Everyone else sees
    the figures as the publishable summary shows them (small counts as <N, see stats.py):
    a one-day unit-wide count can name the one arrest or child behind it."""
    return role_of(request.user) == Role.SUPERVISOR


def shown_figures(request: HttpRequest, figures: stats.Figures) -> dict[tuple[str, str], str]:
    """Every count as this user may see it: exact, or as published."""
    below = 0 if exact_for(request) else int(settings.SUMMARY_SUPPRESS_BELOW)
    return stats.publishable(figures, below)


def buckets(month_labels: list[str]) -> list[tuple[str, list[str]]]:
    """Months grouped so that a chart stays readable: months up to two years, quarters up to
    six, years beyond."""
    if len(month_labels) <= 24:
        return [(m, [m]) for m in month_labels]
    grouped: dict[str, list[str]] = {}
    for m in month_labels:
        year, month = m.split("-")
        key = year if len(month_labels) > 72 else f"{year} Q{(int(month) - 1) // 3 + 1}"
        grouped.setdefault(key, []).append(m)
    return list(grouped.items())


class PeriodError(ValueError):
    pass


def _period(request: HttpRequest) -> tuple[date, date]:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD; default: the last twelve whole months and this one."""
    today = timezone.localdate()
    if "from" not in request.GET and "to" not in request.GET:
        return date(today.year - 1, today.month, 1), today
    form = PeriodForm({"date_from": request.GET.get("from", ""),
                       "date_to": request.GET.get("to", "")})
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        raise PeriodError(errors or "invalid period")
    return form.cleaned_data["date_from"], form.cleaned_data["date_to"]


def _unit(request: HttpRequest) -> Unit:
    officer = officer_of(request.user)
    if officer is None or officer.role == Role.ADMINISTRATOR:
        deny(request, "statistics", "unit", status=403)
    assert officer is not None
    return officer.unit


def _figures(request: HttpRequest) -> stats.Figures | HttpResponse:
    unit = _unit(request)
    try:
        date_from, date_to = _period(request)
    except PeriodError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return stats.compute(date_from, date_to, unit)


@login_required
def stats_page(request: HttpRequest) -> HttpResponse:
    figures = _figures(request)
    if isinstance(figures, HttpResponse):
        return figures
    record("view", request=request, object_type="statistics",
           detail={"from": figures.date_from, "to": figures.date_to})
    query = f"from={figures.date_from.isoformat()}&to={figures.date_to.isoformat()}"
    shown = shown_figures(request, figures)
    return render(request, "records/stats.html", {
        "role": role_of(request.user),
        "figures": figures,
        "exact": exact_for(request),
        "below": settings.SUMMARY_SUPPRESS_BELOW,
        "rows": [(stats.FIGURES[k], k, shown[(k, "")]) for k in stats.FIGURES],
        "by_type": [(t, label, shown[(f"exhibits_seized:{t}", "")])
                    for t, label in ExhibitType.choices],
        "query": query,
        "charts": [(c, CHART_TITLES[c]) for c in CHARTS],
        "summary": stats.summary_text(figures),
        "form": PeriodForm(initial={"date_from": figures.date_from,
                                    "date_to": figures.date_to}),
    })


@login_required
def api_stats(request: HttpRequest) -> HttpResponse:
    figures = _figures(request)
    if isinstance(figures, HttpResponse):
        return figures
    record("view", request=request, object_type="statistics",
           detail={"api": True, "from": figures.date_from, "to": figures.date_to})
    if exact_for(request):
        return JsonResponse({**figures.as_json(), "exact": True})
    shown = shown_figures(request, figures)
    return JsonResponse({
        "from": figures.date_from.isoformat(), "to": figures.date_to.isoformat(),
        "exact": False,
        **{k: shown[(k, "")] for k in stats.FIGURES},
        "exhibits_seized_by_type": {t: shown[(f"exhibits_seized:{t}", "")]
                                    for t in figures.exhibits_by_type},
        "per_month": {k: {m: shown[(k, m)] for m in figures.per_month[k]}
                      for k in stats.FIGURES},
    })


@login_required
def summary_csv(request: HttpRequest) -> HttpResponse:
    figures = _figures(request)
    if isinstance(figures, HttpResponse):
        return figures
    record("view", request=request, object_type="statistics", object_id="summary.csv")
    response = HttpResponse(stats.summary_csv(figures), content_type="text/csv; charset=utf-8")
    name = f"fellwatch-summary-{figures.date_from}-{figures.date_to}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def summary_text(request: HttpRequest) -> HttpResponse:
    figures = _figures(request)
    if isinstance(figures, HttpResponse):
        return figures
    record("view", request=request, object_type="statistics", object_id="summary.txt")
    return HttpResponse(stats.summary_text(figures), content_type="text/plain; charset=utf-8")


# pygal writes its styles inline in the SVG; the picture is loaded as an <img> (no script runs).
@csp_update({"style-src": ["'unsafe-inline'"]})
@login_required
def chart_svg(request: HttpRequest, chart: str) -> HttpResponse:
    figures = _figures(request)
    if isinstance(figures, HttpResponse):
        return figures
    if chart not in CHARTS:
        return HttpResponse(status=404)
    shown = shown_figures(request, figures)
    groups = buckets(list(figures.per_month["arrests"]))
    series: list[tuple[str, list[int | None]]] = []
    for key in CHARTS[chart]:
        values: list[int | None] = []
        for _, months in groups:
            cells = [shown[(key, m)] for m in months]
            # A bucket holding a withheld or "<N" month is not drawn (no bar, not 0).
            values.append(sum(int(c) for c in cells) if all(c.isdigit() for c in cells)
                          else None)
        series.append((stats.FIGURES[key], values))
    top = max([v for _, vs in series for v in vs if v is not None] or [0])
    step = max(1, -(-top // 8))  # at most ~8 whole-number guides
    period = "month" if len(groups[0][1]) == 1 else (
        "quarter" if len(groups[0][0]) > 4 else "year")
    style = Style(background="white", plot_background="white", font_family="sans-serif",
                  colors=("#1f5f8b", "#c0392b", "#27ae60", "#8e44ad"), title_font_size=16)
    bar = pygal.Bar(js=[], style=style, width=900, height=340, legend_at_bottom=True,
                    x_label_rotation=30 if len(groups) > 12 else 0, show_y_guides=True,
                    print_values=False, disable_xml_declaration=False,
                    title=f"{CHART_TITLES[chart]} per {period}",
                    y_labels=list(range(0, top + step + 1, step)), value_formatter=str,
                    show_minor_x_labels=True, truncate_label=-1)
    bar.x_labels = [label for label, _ in groups]
    for label, values in series:
        bar.add(label, values)
    return HttpResponse(_svg_without_script(bar), content_type="image/svg+xml")


def _svg_without_script(chart: Any) -> bytes:
    """pygal always embeds a small configuration script for its optional interactive
    layer; a picture shown as <img> needs none, so it is taken out rather than trusted."""
    from pygal.etree import etree

    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    body: bytes = etree.tostring(tree)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body
