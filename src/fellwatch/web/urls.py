"""URLs. Everything under cases/<case_id>/ and api/cases/<case_id>/ is case data: the access
test walks this resolver and probes each of them as a user not assigned to the case."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from fellwatch.web.chats import views as chat_views
from fellwatch.web.records import paperwork, stats_views, views

handler400 = "fellwatch.web.records.errors.bad_request"
handler403 = "fellwatch.web.records.errors.permission_denied"
handler404 = "fellwatch.web.records.errors.page_not_found"
handler500 = "fellwatch.web.records.errors.server_error"


def _children() -> list[object]:
    """Edit and void pages of each record a case holds (views.CHILDREN)."""
    out: list[object] = []
    for kind, plural in (("person", "persons"), ("arrest", "arrests"), ("warrant", "warrants"),
                         ("exhibit", "exhibits"), ("safeguarding", "safeguarding")):
        for action in ("edit", "void"):
            out.append(path(f"cases/<int:case_id>/{plural}/<int:{kind}_id>/{action}/",
                            getattr(views, f"{kind}_{action}"), name=f"{kind}-{action}"))
    return out


urlpatterns = [
    path("", views.home, name="home"),
    path("health", views.health, name="health"),
    path("login/", auth_views.LoginView.as_view(template_name="records/login.html"),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("operations/", views.operation_list, name="operations"),
    path("operations/new/", views.operation_new, name="operation-new"),
    path("operations/<int:operation_id>/", views.operation_detail, name="operation"),
    path("operations/<int:operation_id>/edit/", views.operation_edit, name="operation-edit"),
    path("operations/<int:operation_id>/warrants/new/", views.operation_warrant_new,
         name="operation-warrant-new"),
    path("cases/", views.case_list, name="cases"),
    path("cases/new/", views.case_new, name="case-new"),
    path("exhibits/", views.exhibit_list, name="exhibits"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/edit/", views.case_edit, name="case-edit"),
    path("cases/<int:case_id>/void/", views.case_void, name="case-void"),
    path("cases/<int:case_id>/persons/new/", views.person_new, name="person-new"),
    path("cases/<int:case_id>/arrests/new/", views.arrest_new, name="arrest-new"),
    path("cases/<int:case_id>/warrants/new/", views.warrant_new, name="warrant-new"),
    path("cases/<int:case_id>/exhibits/new/", views.exhibit_new, name="exhibit-new"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/", views.exhibit_detail, name="exhibit"),
    *_children(),
    path("cases/<int:case_id>/exhibit-list/", paperwork.exhibit_list, name="paper-exhibits"),
    path("cases/<int:case_id>/exhibit-list.pdf", paperwork.exhibit_list, {"fmt": "pdf"},
         name="paper-exhibits-pdf"),
    path("cases/<int:case_id>/exhibit-list.csv", paperwork.exhibit_list, {"fmt": "csv"},
         name="paper-exhibits-csv"),
    path("cases/<int:case_id>/labels/", paperwork.labels, name="paper-labels"),
    path("cases/<int:case_id>/labels.pdf", paperwork.labels, {"fmt": "pdf"},
         name="paper-labels-pdf"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/continuity/", paperwork.continuity,
         name="paper-continuity"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/continuity.pdf", paperwork.continuity,
         {"fmt": "pdf"}, name="paper-continuity-pdf"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/continuity.csv", paperwork.continuity,
         {"fmt": "csv"}, name="paper-continuity-csv"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/custody/new/", views.custody_new,
         name="custody-new"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/evidence/new/", views.evidence_new,
         name="evidence-new"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/scans/<int:scan_id>/",
         views.scan_detail, name="scan"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/scans/<int:scan_id>/report/",
         views.scan_report, name="scan-report"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/scans/<int:scan_id>/conversations/",
         chat_views.conversations, name="chat-conversations"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/scans/<int:scan_id>/conversation/",
         chat_views.conversation, name="chat-conversation"),
    path("cases/<int:case_id>/contacts/", chat_views.contacts, name="chat-contacts"),
    path("cases/<int:case_id>/safeguarding/new/", views.safeguarding_new,
         name="safeguarding-new"),
    path("api/cases/<int:case_id>/", views.api_case, name="api-case"),
    path("api/cases/<int:case_id>/exhibits/<int:exhibit_id>/", views.api_exhibit,
         name="api-exhibit"),
    path("stats/", stats_views.stats_page, name="stats"),
    path("stats/chart/<slug:chart>.svg", stats_views.chart_svg, name="stats-chart"),
    path("stats/summary.csv", stats_views.summary_csv, name="stats-summary-csv"),
    path("stats/summary.txt", stats_views.summary_text, name="stats-summary-txt"),
    path("api/stats", stats_views.api_stats, name="api-stats"),
    path("audit/", views.audit_log, name="audit-log"),
    path("import/", views.csv_import, name="csv-import"),
    path("admin/", admin.site.urls),
    path("", include("fellwatch.web.review.urls")),
]
