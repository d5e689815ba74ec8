"""The audit log is not in the admin: it is the unit's auditors' (the `/audit/` page, scoped to
their unit), and the administrator, whose own actions it records, must not read it there.
Nothing is registered here on purpose; a test asserts the admin has no audit page."""
