"""The signal registry holds exactly the signals a scan computes (one module per signal)."""

from fellwatch.signals.catalogue import load_signals


def test_registry_holds_exactly_the_expected_signals():
    signals = load_signals()
    assert sorted(signals) == ["exif", "filetype", "pdq", "vpdq"]
    assert {name for name, s in signals.items() if s.head_only} == {"filetype"}
