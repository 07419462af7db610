import pytest

from jobs.states import ALLOWED_TRANSITIONS, TERMINAL_STATUSES, JobStatus, can_transition


def test_every_status_has_a_row():
    assert set(ALLOWED_TRANSITIONS) == set(JobStatus)


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES - {JobStatus.DEAD}))
def test_finished_states_go_nowhere(status):
    assert not ALLOWED_TRANSITIONS[status]


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("queued", "running", True),
        ("running", "succeeded", True),
        ("running", "queued", True),  # lease expired
        ("dead", "queued", True),  # replay
        ("succeeded", "queued", False),
        ("cancelled", "running", False),
        ("queued", "succeeded", False),
        ("scheduled", "running", False),
    ],
)
def test_transitions(current, new, allowed):
    assert can_transition(current, new) is allowed
