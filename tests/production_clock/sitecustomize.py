"""A shared, movable clock for the processes of tests/test_production.py (on their PYTHONPATH only).

``GROWTH_E2E_CLOCK_FILE`` holds an offset in seconds from the real clock. Each process starts
``time_machine`` at real time plus that offset, ticking, and follows the file when the test changes
it: every process (and the test) then reads the same shifted time, give or take a few milliseconds.
"""

import os

if os.environ.get("GROWTH_E2E_CLOCK_FILE"):
    import threading
    import time
    from datetime import UTC, datetime, timedelta

    import time_machine
    from time_machine import escape_hatch

    _path = os.environ["GROWTH_E2E_CLOCK_FILE"]

    def _shifted() -> tuple[datetime, float]:
        with open(_path) as f:
            offset = float(f.read())
        real = escape_hatch.time.time() if escape_hatch.is_travelling() else time.time()
        return datetime.fromtimestamp(real, UTC) + timedelta(seconds=offset), offset

    _at, _offset = _shifted()
    _clock = time_machine.travel(_at, tick=True).start()
    time.time()  # time_machine starts ticking at the first read: now, not whenever the process first asks

    def _follow() -> None:
        global _offset
        while True:
            time.sleep(0.02)
            at, offset = _shifted()
            if offset != _offset:
                _offset = offset
                _clock.move_to(at, tick=True)
                time.time()

    def _start_following() -> None:
        threading.Thread(target=_follow, daemon=True, name="e2e-clock").start()

    _start_following()
    os.register_at_fork(after_in_child=_start_following)  # granian forks its web workers
