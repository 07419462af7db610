"""Test-only wall-clock skew for a whole Python process (tests/chaos/test_clock_skew.py).

Put this directory first on PYTHONPATH and set QUEUEY_TEST_WALL_SKEW to seconds (e.g.
-180): time.time(), time.time_ns() and datetime.now() (so Django's timezone.now()) are
off by that much, as on a host whose clock drifted. The monotonic clock is left alone,
as NTP leaves it. Used where libfaketime cannot run Python (0.9.10 on Debian 12 hangs
threading waits when it fakes the monotonic clock, and fails time.sleep with EINVAL when
told not to).
"""

import datetime as _dt
import os
import time

_skew = float(os.environ.get("QUEUEY_TEST_WALL_SKEW") or 0)
if _skew:
    _time, _time_ns = time.time, time.time_ns
    time.time = lambda: _time() + _skew
    time.time_ns = lambda: _time_ns() + int(_skew * 1e9)

    _Base = _dt.datetime

    class _SkewedDateTime(_Base):
        @classmethod
        def now(cls, tz=None):
            return _Base.now(tz) + _dt.timedelta(seconds=_skew)

        @classmethod
        def utcnow(cls):
            return cls.now(_dt.UTC).replace(tzinfo=None)

    _SkewedDateTime.__name__ = "datetime"
    _dt.datetime = _SkewedDateTime
