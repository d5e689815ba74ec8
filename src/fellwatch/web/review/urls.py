"""The review app's URLs: case data under cases/<case_id>/review/ and
api/cases/<case_id>/review/ (the access test probes every one of them)."""

from __future__ import annotations

from django.urls import path

from fellwatch.web.review import outputs, views

F = "findings/<int:finding_id>"

urlpatterns = [
    path("cases/<int:case_id>/review/", views.gallery, name="review-gallery"),
    path(f"cases/<int:case_id>/review/{F}/", views.finding, name="review-finding"),
    path(f"cases/<int:case_id>/review/{F}/thumbnail/", views.thumbnail,
         name="review-thumbnail"),
    path(f"cases/<int:case_id>/review/{F}/reveal/", views.reveal, name="review-reveal"),
    path(f"cases/<int:case_id>/review/{F}/original/", views.original, name="review-original"),
    path("cases/<int:case_id>/review/exposure/", views.exposure, name="review-exposure"),
    path("cases/<int:case_id>/review/disputes/", views.disputes, name="review-disputes"),
    path("cases/<int:case_id>/review/vics.json", outputs.vics_download, name="review-vics"),
    path("cases/<int:case_id>/review/vics-import/", outputs.vics_import_view,
         name="review-vics-import"),
    path("cases/<int:case_id>/exhibits/<int:exhibit_id>/review/report/",
         outputs.exhibit_report_view, name="review-exhibit-report"),
    path("api/cases/<int:case_id>/review/findings/", views.api_findings,
         name="review-api-findings"),
    path(f"api/cases/<int:case_id>/review/{F}/", views.api_finding, name="review-api-finding"),
    path("api/cases/<int:case_id>/review/stacks/<int:stack_id>/", views.api_stack,
         name="review-api-stack"),
    path("api/cases/<int:case_id>/review/grades/", views.api_grades, name="review-api-grades"),
    path("review/welfare/", views.welfare, name="review-welfare"),
    path("review/library/", views.library, name="review-library"),
]
