"""The Lua scripts, each loaded once per client (EVALSHA, reloaded if Redis restarts)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

LUA_DIR = Path(__file__).parent / "lua"
SCRIPT_NAMES = (
    "enqueue",
    "claim",
    "renew",
    "finish",
    "requeue_expired",
    "promote",
    "cancel",
    "move_to_queue",
    "settle",
    "heartbeat",
    "delete",
)


@cache
def source(name: str) -> str:
    """The script's text with the shared helpers (`_now.lua`) in front."""
    return (LUA_DIR / "_now.lua").read_text() + "\n" + (LUA_DIR / f"{name}.lua").read_text()
