"""Settings of the bot's process (not of the Application): how Python collects garbage.

Measured (bench/README.md, "Garbage collection"): with CPython's defaults a burst of
sign-ups spends a fifth of its time in the cyclic garbage collector, which walks every
object the process has, most of them the modules, mappers and catalogs loaded at start
that live as long as the process. Freezing those after start and collecting young objects
every 10,000 allocations instead of every 700 took the burst from 0.42 to 0.54 of the
insert rate on SQLite. Memory is unaffected in practice: the collector still runs, only
less often, and reference counting frees all objects that are not in cycles at once.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations between collections of the youngest generation
# Collections of one generation before the next is collected: CPython's own ratios, so that
# a full collection still comes every million allocations or so (measured: (50, 100) here
# made no difference to the burst, 0.57 against 0.56-0.57, and would let garbage cycles
# that reached the oldest generation wait 50 times longer).
OLDER_THRESHOLDS = (10, 10)


def tune_garbage_collector() -> None:
    """Moves every object alive now out of the collector's reach and collects less often.

    Call once the process has started up (imports done, application built), so that what
    lives as long as the process is no longer walked on every full collection.
    """
    gc.collect()  # what is garbage already should not be frozen
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *OLDER_THRESHOLDS)
