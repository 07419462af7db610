import pytest

from tests.support.stack import Stack


@pytest.fixture
def stack(transactional_db, request):
    s = Stack()
    yield s
    s.stop()
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        print(s.logs())
