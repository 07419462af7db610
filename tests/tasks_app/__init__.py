"""A small Django app whose `@task` functions run on real Queuey workers in the tests."""
