"""The executor's forkserver, started before a run loads its definitions.

Dagster's multiprocess executor starts the forkserver when it launches the first step, and the
server then imports what every step needs (`step_worker.py`, 1.7-2.0 s in a fresh interpreter
here) while the run waits. Started first, it imports them while the run's own process loads the
same definitions, on the other core: the first steps of a tiny batch started 2.3 s after the
request, and 1.6 s with the server started first. Light on purpose: importing this module must
not delay the start.
"""

import multiprocessing
import multiprocessing.forkserver

# What the forkserver imports once for every step process it forks (`definitions.py` configures
# the executor with it).
STEP_PRELOAD = ["odds_pipeline.defs.step_worker"]
# Dagster puts its executor's module first in the list it gives the forkserver.
_EXECUTOR_MODULE = "dagster._core.executor.multiprocess"


def start_step_server() -> None:
    """Start the forkserver now, with this process's environment, which its steps inherit; nothing
    happens if one runs already. Dagster's executor then forks its steps from it."""
    multiprocessing.get_context("forkserver").set_forkserver_preload([_EXECUTOR_MODULE, *STEP_PRELOAD])
    multiprocessing.forkserver.ensure_running()
