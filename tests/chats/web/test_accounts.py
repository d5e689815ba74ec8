"""A participant shown with a phone's contact name ("id (name)") is the same account as the
bare id on another phone: one contact, one pseudonym, its stated age found either way."""

from __future__ import annotations

from fellwatch.web.chats.reading import account, stated_age


def test_the_name_a_phone_gave_an_account_is_not_part_of_it() -> None:
    assert account("447700900456@s.whatsapp.net (Mum)") == "447700900456@s.whatsapp.net"
    assert account("447700900456@s.whatsapp.net") == "447700900456@s.whatsapp.net"
    assert account("12345 (Sam (school))") == "12345"


def test_a_stated_age_is_found_under_either_form() -> None:
    conversation = {"indicators": [
        {"rule": "age-stated", "sender": "447700900123@s.whatsapp.net (Kid)", "age": 12},
        {"rule": "age-stated", "sender": "447700900999@s.whatsapp.net", "age": 40},
    ]}  # fmt: skip
    assert stated_age(conversation, "447700900123@s.whatsapp.net") == 12
    assert stated_age(conversation, "447700900123@s.whatsapp.net (Other name)") == 12
    assert stated_age(conversation, "447700900555@s.whatsapp.net") is None
