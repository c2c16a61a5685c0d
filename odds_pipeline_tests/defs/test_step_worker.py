"""A step process forked by the executor's forkserver finds what a step needs already imported,
whether Dagster starts the server or `start_step_server` did before the run."""

import gc
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: the test process's own forkserver, if Dagster started one, keeps the
# preload it started with.
SCRIPT = """
import multiprocessing, sys
from odds_pipeline.defs.step_server import STEP_PRELOAD, start_step_server
from odds_pipeline_tests.defs.test_step_worker import missing_in_child
context = multiprocessing.get_context("forkserver")
if sys.argv[1] == "early":
    start_step_server()
else:
    context.set_forkserver_preload(STEP_PRELOAD)
from odds_pipeline.defs.step_worker import STEP_MODULES
answer = context.Queue()
names = [*STEP_MODULES, *STEP_PRELOAD, "odds_pipeline.definitions"]
child = context.Process(target=missing_in_child, args=(names, answer))
child.start()
print(repr(answer.get(timeout=120)))
child.join(60)
"""


def missing_in_child(names: list[str], answer: multiprocessing.Queue) -> None:
    """What the child lacks: modules not imported, or a heap the forkserver did not freeze."""
    missing = [name for name in names if name not in sys.modules]
    if gc.get_freeze_count() == 0:
        missing.append("gc.freeze()")
    answer.put(missing)


@pytest.mark.parametrize("started", ["by_dagster", "early"])
def test_the_forkserver_imports_what_steps_need(started: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, started], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
