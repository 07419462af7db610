import pytest

from tests.api.support import assert_rejected

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("header", ["CONTENT_LENGTH", "HTTP_CONTENT_LENGTH"])
@pytest.mark.parametrize("value", ["&&", "-1", "1e3", "١٢"])
def test_it_rejects_a_malformed_content_length(api, admin_key, header, value):
    assert_rejected(
        lambda: api.post(
            "/v1/jobs", {"type": "demo.noop", "payload": {}}, admin_key, **{header: value}
        ),
        400,
        "Content-Length",
    )
