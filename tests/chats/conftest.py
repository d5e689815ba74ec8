"""Chat fixtures, built once per session from SQL by `tests.chats.fixtures` (never committed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chats import fixtures


@pytest.fixture(scope="session")
def chat_trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("chat-fixtures")
    android = fixtures.android_tree(root / "android")
    ios = fixtures.ios_tree(root / "ios")
    hostile = fixtures.hostile_tree(root / "hostile")
    return {
        "android": android,
        "ios": ios,
        "hostile": hostile,
        "android.zip": fixtures.zip_of(android, root / "android.zip"),
        "android.tar": fixtures.tar_of(android, root / "android.tar"),
        "android.ext4": fixtures.ext4_of(android, root / "android.ext4"),
        "ios.tar": fixtures.tar_of(ios, root / "ios.tar"),
    }
