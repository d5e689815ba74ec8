from __future__ import annotations

from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "fellwatch.web.review"
    label = "review"
    verbose_name = "Review and grading"
