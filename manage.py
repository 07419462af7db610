#!/usr/bin/env python
"""Django's command-line utility for Queuey."""

import os
import sys


def main() -> None:
    # `runworker --processes N`: the supervisor needs no Django (workers/supervise.py).
    if sys.argv[1:2] == ["runworker"]:
        from workers.supervise import run

        code = run(sys.argv)
        if code is not None:
            sys.exit(code)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "queuey_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
