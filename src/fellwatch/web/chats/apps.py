from __future__ import annotations

from django.apps import AppConfig


class ChatsConfig(AppConfig):
    name = "fellwatch.web.chats"
    label = "chats"
    verbose_name = "Chats"
