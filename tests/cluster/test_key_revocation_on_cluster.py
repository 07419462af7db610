"""A revoked key is refused at once by another API process (a real gunicorn) when the
announcement travels over the cluster's pub/sub."""

from __future__ import annotations

from tests.integration import test_key_revocation as _cases
from tests.integration.test_key_revocation import other_api  # noqa: F401  (its fixture)

test_revoked_key_is_refused_by_another_api_process_at_once = (
    _cases.test_revoked_key_is_refused_by_another_api_process_at_once
)
