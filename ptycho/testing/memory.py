"""Peak memory of the running process, for tests that bound it (bombs refused before inflation).

``resource.getrusage(...).ru_maxrss`` survives ``exec`` on Linux: a child started by a large pytest process
(TensorFlow loaded: ~860 MB) reports at least that much whatever it did itself. ``VmHWM`` in
``/proc/self/status`` belongs to the process's own address space and starts afresh at ``exec``.
"""

from __future__ import annotations

import resource


def peak_rss_kb() -> int:
    """This process's own peak resident set size in kB (``VmHWM``; ``ru_maxrss`` where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> None:
    """Start this process's peak (``VmHWM``) afresh from its current size (Linux ``clear_refs``), so a test
    can measure the peak of one step; a no-op where the kernel does not offer it."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
