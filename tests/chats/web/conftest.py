"""The records web app's fixtures (users, the synthetic world, the browser), for the chat pages."""

from tests.web.conftest import _quick_argon2, make_user, world  # noqa: F401 (fixtures)
from tests.web.test_browser import browser_page  # noqa: F401 (fixtures)

# The live server that serves the apps' static files: the thread's reveal needs its script.
from tests.web.test_review_browser import live_url  # noqa: F401 (fixtures)
