"""Queuey beside its peers (Huey, SAQ, Dramatiq, BullMQ) in one run: `make bench-peers`.

run.py orchestrates rounds (each system in turn, each run on a fresh redis-server);
queuey_side.py runs Queuey's scenarios (Django, project venv); harness.py runs a peer's
scenarios inside var/peers/venv with one adapter module per peer (*_app.py); record.py is
how a peer's handler reports timestamps; table.py prints medians and ratios.
"""
