"""The chat sources, one per app database, tried in this order for a candidate path."""

from __future__ import annotations

import fnmatch
import re

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


def _any_pattern(deleted: bool) -> re.Pattern[str]:
    """One regex for every source's patterns (and, for deleted files, their variants with the
    name's first character free): almost every item of an evidence is no chat database, and
    one search rejects it where a dozen fnmatch calls per source did (~30 µs an item)."""
    patterns: list[str] = []
    for source in SOURCES:
        for pattern in source.patterns:
            patterns.append(pattern)
            folder, _, name = pattern.rpartition("/")
            if deleted and name[:1] not in ("*", "?", "[", ""):
                patterns.append((folder + "/" if folder else "") + "?" + name[1:])
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


_LIVE, _DELETED = _any_pattern(False), _any_pattern(True)


def for_path(path: str, deleted: bool = False) -> list[ChatSource]:
    """The sources whose path patterns fit `path` (an item's display path; `deleted` for a
    deleted file, whose name's first character may be lost)."""
    if not (_DELETED if deleted else _LIVE).match(path.lower()):
        return []
    return [s for s in SOURCES if s.matches_path(path, deleted)]
