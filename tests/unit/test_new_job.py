from jobs.submission import JOB_COLUMNS, NewJob


def test_new_job_declares_every_job_column_for_the_type_checker():
    assert tuple(NewJob.__annotations__) == JOB_COLUMNS
