"""Raise an exception inside a handler thread that overran its timeout.

CPython checks for an asynchronous exception between bytecodes, so a handler looping in
Python stops promptly; one blocked inside a C call (a socket read, time.sleep) stops when
the call returns. A thread that never gets back to Python cannot be stopped from the
outside at all: the worker then runs on with a replacement thread and recycles the
process once too many threads are stuck (see workers/worker.py).
"""

from __future__ import annotations

import ctypes


class HandlerInterrupted(BaseException):
    """Raised into a handler thread; a BaseException so `except Exception` won't eat it."""


def interrupt_thread(thread_id: int) -> bool:
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(HandlerInterrupted)
    )
    return done == 1
