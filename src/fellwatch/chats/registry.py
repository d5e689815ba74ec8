"""The chat sources, one per app database, tried in this order for a candidate path."""

from __future__ import annotations

from fellwatch.chats.base import ChatSource
from fellwatch.chats.sources.android_sms import AndroidSms
from fellwatch.chats.sources.instagram_android import InstagramAndroid
from fellwatch.chats.sources.ios_sms import IosSms
from fellwatch.chats.sources.kik_android import KikAndroid
from fellwatch.chats.sources.kik_ios import KikIos
from fellwatch.chats.sources.messenger_android import MessengerAndroid
from fellwatch.chats.sources.messenger_msys import MessengerMsys
from fellwatch.chats.sources.signal_android import SignalAndroid
from fellwatch.chats.sources.snapchat_android import SnapchatAndroid
from fellwatch.chats.sources.telegram_android import TelegramAndroid
from fellwatch.chats.sources.whatsapp_android import WhatsAppAndroid
from fellwatch.chats.sources.whatsapp_ios import WhatsAppIos
from fellwatch.registry import Registry

SOURCES: Registry[ChatSource] = Registry("chat source")

_ALL: tuple[ChatSource, ...] = (
    WhatsAppAndroid(), AndroidSms(), SignalAndroid(), TelegramAndroid(), KikAndroid(), IosSms(),
    WhatsAppIos(), KikIos(), SnapchatAndroid(), InstagramAndroid(), MessengerAndroid(),
    MessengerMsys())
for _source in _ALL:
    SOURCES.register(_source)


def for_path(path: str, deleted: bool = False) -> list[ChatSource]:
    """The sources whose path patterns fit `path` (an item's display path; `deleted` for a
    deleted file, whose name's first character may be lost)."""
    return [s for s in SOURCES if s.matches_path(path, deleted)]
