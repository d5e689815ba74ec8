"""Log-in, throttling, cookies, CSRF and headers, through Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

PASSWORD = "correct horse battery staple 7"


@pytest.fixture
def officer(make_user: Any) -> Any:
    return make_user("pat.officer", "examiner", password=PASSWORD)


def _login(client: Client, password: str) -> Any:
    return client.post(reverse("login"), {"username": "pat.officer", "password": password},
                       REMOTE_ADDR="10.0.0.7")


def test_passwords_are_stored_with_argon2(officer: Any) -> None:
    from fellwatch.web import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert officer.password.startswith("argon2$argon2id$")
    assert officer.check_password(PASSWORD)


def test_login_logout_and_failures_are_audited(officer: Any, client: Client) -> None:
    from fellwatch.web.audit.models import AuditEntry

    assert _login(client, "wrong password").status_code == 200
    response = _login(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302  # back to the log-in page
    actions = list(AuditEntry.objects.filter(username="pat.officer")
                   .values_list("action", "ip"))
    assert actions == [("login-failed", "10.0.0.7"), ("login", "10.0.0.7"),
                       ("logout", "127.0.0.1")]


def test_login_is_throttled_after_five_failures(officer: Any, client: Client) -> None:
    for _ in range(5):
        _login(client, "wrong password")
    locked = _login(client, PASSWORD)  # even the right password is refused now
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    from fellwatch.web.audit.models import AuditEntry

    assert AuditEntry.objects.filter(action="locked-out", username="pat.officer").exists()
    assert client.get(reverse("home")).status_code == 302


def test_csrf_is_enforced(officer: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert _login(client, PASSWORD).status_code == 403
    page = client.get(reverse("login"))
    token = page.cookies["csrftoken"].value
    response = client.post(reverse("login"), {"username": "pat.officer", "password": PASSWORD,
                                              "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_cookies_are_secure_and_sessions_time_out(officer: Any, client: Client) -> None:
    from django.conf import settings

    response = _login(client, PASSWORD)
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Strict"
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST  # idle time-out: each request restarts it
    assert settings.CSRF_COOKIE_SECURE


def test_security_headers_on_pages_with_case_data(world: dict[str, Any], client: Client) -> None:
    client.force_login(world["examiner"])
    for url in (reverse("case", kwargs={"case_id": world["case"].pk}),
                reverse("api-case", kwargs={"case_id": world["case"].pk}),
                reverse("home"), reverse("stats"), reverse("login")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["X-Frame-Options"] == "DENY", url
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
        assert "unsafe-inline" not in csp, url


def test_anonymous_users_are_sent_to_log_in(world: dict[str, Any], client: Client) -> None:
    for url in (reverse("case", kwargs={"case_id": world["case"].pk}), "/api/stats",
                reverse("stats")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url


def test_an_idle_session_ends(officer: Any, client: Client) -> None:
    from datetime import timedelta

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    _login(client, PASSWORD)
    assert client.get(reverse("home")).status_code == 200
    # Thirty-one idle minutes later (the server keeps the expiry; the cookie dies with the
    # browser).
    Session.objects.update(expire_date=timezone.now() - timedelta(minutes=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
