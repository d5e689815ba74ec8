"""The chat source registry holds exactly the expected modules, and refuses duplicates."""

import pytest

from fellwatch.chats.registry import SOURCES, for_path
from fellwatch.chats.sources.ios_sms import IosSms
from fellwatch.registry import Registry


def test_registry_holds_the_expected_sources():
    assert SOURCES.names() == [
        "whatsapp-android", "android-sms", "signal-android", "telegram-android", "kik-android",
        "ios-sms", "whatsapp-ios", "kik-ios", "snapchat-android", "instagram-android",
        "messenger-android", "messenger-msys",
    ]
    for source in SOURCES:
        assert source.covered and source.variants and source.patterns


def test_duplicate_is_refused():
    registry: Registry[IosSms] = Registry("chat source")
    registry.register(IosSms())
    with pytest.raises(ValueError, match="already registered: ios-sms"):
        registry.register(IosSms())
    with pytest.raises(KeyError, match="unknown chat source 'nope'"):
        registry.get("nope")


def test_paths_pick_sources():
    assert [s.name for s in for_path("/data/data/com.whatsapp/databases/msgstore.db")] == [
        "whatsapp-android"]
    assert [s.name for s in for_path("/private/var/mobile/Library/SMS/sms.db")] == ["ios-sms"]
    assert [s.name for s in for_path("/X/AppGroup/U/ChatStorage.sqlite")] == ["whatsapp-ios"]
    assert for_path("/data/data/com.whatsapp/databases/wa.db") == []


def test_every_source_is_documented():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "chats.md").read_text()
    for source in SOURCES:
        assert f"`{source.name}`" in text, source.name
        assert source.covered in text, source.name


def test_a_deleted_name_may_have_lost_its_first_character():
    path = "/data/com.whatsapp/databases/_sgstore.db"
    assert for_path(path) == []
    assert [s.name for s in for_path(path, deleted=True)] == ["whatsapp-android"]
