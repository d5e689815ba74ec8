"""Times from every app's epoch, checked against one known instant."""

from fellwatch.chats import epochs
from tests.chats import fixtures as fx


def test_known_instant_in_every_epoch():
    assert epochs.unix_ms(fx.KNOWN_UNIX_MS) == fx.KNOWN_ISO
    assert epochs.unix_s(fx.KNOWN_UNIX_S) == "2023-03-14T15:09:26.000Z"
    assert epochs.cocoa(fx.KNOWN_COCOA_S) == fx.KNOWN_ISO
    assert epochs.cocoa(fx.KNOWN_COCOA_NS) == fx.KNOWN_ISO


def test_epoch_origins():
    assert epochs.unix_ms(1) == "1970-01-01T00:00:00.001Z"
    assert epochs.cocoa(1) == "2001-01-01T00:00:01.000Z"
    # Just above the nanosecond threshold is read as nanoseconds: 100 s after the Cocoa epoch.
    assert epochs.cocoa(100_000_000_001) == "2001-01-01T00:01:40.000Z"


def test_missing_and_nonsense_times_are_none():
    for convert in (epochs.unix_ms, epochs.unix_s, epochs.cocoa):
        assert convert(None) is None
        assert convert(0) is None
        assert convert(-5) is None
        assert convert("not a time") is None
    assert epochs.unix_s(1e300) is None
