"""A book's step lowers its CPU priority only in a process of its own."""

import multiprocessing
import os

from odds_pipeline.batch import lower_cpu_priority


def _lowered_in_child(niceness: int, answer: multiprocessing.Queue) -> None:
    before = os.nice(0)
    lowered = lower_cpu_priority(niceness)
    answer.put((lowered, os.nice(0) - before))


def test_a_process_of_its_own_is_lowered() -> None:
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    child = context.Process(target=_lowered_in_child, args=(3, answer))
    child.start()
    lowered, by = answer.get(timeout=60)
    child.join(60)
    assert lowered is True
    assert by == min(3, 19 - (os.nice(0)))  # niceness tops out at 19


def test_the_runs_own_process_is_left_alone() -> None:
    before = os.nice(0)
    assert lower_cpu_priority(5) is False
    assert os.nice(0) == before


def test_zero_lowers_nothing() -> None:
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    child = context.Process(target=_lowered_in_child, args=(0, answer))
    child.start()
    assert answer.get(timeout=60) == (False, 0)
    child.join(60)
