from __future__ import annotations

import fellwatch.carving as carving


def test_registry_holds_exactly_the_expected_carvers() -> None:
    assert set(carving.registered()) == {"jpeg", "png", "gif", "webp", "bmp", "mp4", "avi"}


def test_every_carver_declares_its_contract() -> None:
    for name, carver in carving.registered().items():
        assert carver.name == name
        assert carver.kind in ("picture", "video")
        assert carver.signatures and carver.default_max_size > 0
        assert carver.content_type.split("/")[0] == ("image" if carver.kind == "picture"
                                                     else "video")


def test_settings_are_recorded_deterministically() -> None:
    settings = carving.CarveSettings(formats=("png", "jpeg"), max_sizes={"png": 1024})
    assert settings.to_json() == {
        "formats": ["jpeg", "png"],
        "max_sizes": {"jpeg": 64 << 20, "png": 1024},
        "report_fragments": True,
        "alignment": None,
    }
    assert set(carving.CarveSettings().to_json()["formats"]) == set(carving.registered())
