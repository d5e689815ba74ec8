from fellwatch.evidence.names import display_name


def test_valid_utf8_names_are_unchanged():
    assert display_name("fotografía/çà.jpg".encode()) == "fotografía/çà.jpg"
    assert display_name("Фото/写真.png") == "Фото/写真.png"


def test_undecodable_bytes_are_escaped_not_dropped():
    assert display_name(b"caf\xe9.jpg") == "caf\\xe9.jpg"


def test_escaping_is_reversible_for_backslashes_and_controls():
    assert display_name(b"a\\xe9") == "a\\\\xe9"  # a literal backslash cannot pose as an escape
    assert display_name(b"evil\nname\x1b[2J") == "evil\\x0aname\\x1b[2J"
