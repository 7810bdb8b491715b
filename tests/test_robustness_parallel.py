"""The parallel runner: same results serially, on local processes and on a
Dask cluster for the same seed; task order; errors; silent progress."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.did import att_gt
from analysis.robustness import TaskError, randomization_inference, run_tasks


def _draw(task, rng):
    return (task, rng.normal(size=3).tolist(), int(rng.integers(1_000_000)))


def _square(task):
    return task * task


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                       processes=False, dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _panel(seed=3, n_units=24):
    """A small staggered panel with a known effect of 0.5 after adoption."""
    rng = np.random.default_rng(seed)
    cohorts = np.repeat([0, 3, 4, 5], n_units // 4)
    rows = []
    for unit, cohort in enumerate(cohorts):
        level = rng.normal()
        for year in range(1, 7):
            treated = cohort > 0 and year >= cohort
            rows.append({"unit": unit, "year": year, "g": cohort,
                         "y": level + 0.1 * year + 0.5 * treated + rng.normal(0, .3)})
    return pd.DataFrame(rows)


def _cs_simple(frame):
    result = att_gt(frame, yname="y", tname="year", idname="unit", gname="g",
                    control_group="notyettreated")
    return result.aggregate("simple").overall_att


def test_serial_local_and_dask_give_identical_draws(dask_client):
    tasks = list(range(11))
    serial = run_tasks(_draw, tasks, seed=2024, n_jobs=1)
    local = run_tasks(_draw, tasks, seed=2024, n_jobs=2, chunk_size=3)
    dask = run_tasks(_draw, tasks, seed=2024, scheduler=dask_client)

    assert serial == local == dask
    assert [row[0] for row in serial] == tasks

    # The seed matters: another seed gives other draws.
    assert run_tasks(_draw, tasks, seed=2025, n_jobs=1) != serial


def test_dask_by_scheduler_address(dask_client):
    address = dask_client.scheduler.address
    assert run_tasks(_draw, range(5), seed=7, scheduler=address) == run_tasks(
        _draw, range(5), seed=7, n_jobs=1)


def test_randomization_inference_identical_across_backends(dask_client):
    panel = _panel()
    options = dict(idname="unit", gname="g", n_permutations=20, seed=11,
                   progress=False)
    serial = randomization_inference(panel, _cs_simple, n_jobs=1, **options)
    local = randomization_inference(panel, _cs_simple, n_jobs=2, **options)
    dask = randomization_inference(panel, _cs_simple, scheduler=dask_client,
                                   **options)

    np.testing.assert_array_equal(serial.draws.to_numpy(), local.draws.to_numpy())
    np.testing.assert_array_equal(serial.draws.to_numpy(), dask.draws.to_numpy())
    assert serial.p_values.iloc[0] == local.p_values.iloc[0] == dask.p_values.iloc[0]
    # Permuted draws really differ from one another and from the observed.
    assert serial.draws["statistic"].nunique() > 15


def test_results_in_task_order_with_closures():
    offset = 5
    tasks = list(range(23))
    result = run_tasks(lambda task: task + offset, tasks, n_jobs=2, chunk_size=4)
    assert result == [task + 5 for task in tasks]
    assert run_tasks(_square, [], n_jobs=2) == []


def test_task_error_names_the_task():
    def fail_on_three(task):
        if task == 3:
            raise ValueError("bad input")
        return task

    with pytest.raises(TaskError, match=r"task 3 .*ValueError: bad input"):
        run_tasks(fail_on_three, range(6), n_jobs=1)
    with pytest.raises(TaskError, match=r"task 3 .*ValueError: bad input"):
        run_tasks(fail_on_three, range(6), n_jobs=2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_jobs"):
        run_tasks(_square, range(3), n_jobs=0)
    with pytest.raises(ValueError, match="seed"):
        run_tasks(_draw, range(3), seed=-1)
    with pytest.raises(ValueError, match="chunk_size"):
        run_tasks(_square, range(3), n_jobs=2, chunk_size=0)


def test_progress_silent_off_a_terminal(capsys):
    # Under pytest's capture stderr is not a terminal: nothing is printed.
    run_tasks(_square, range(30), n_jobs=1, description="squares")
    run_tasks(_square, range(30), n_jobs=2, description="squares")
    randomization_inference(_panel(), _cs_simple, idname="unit", gname="g",
                            n_permutations=5, seed=1, n_jobs=1)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""

    # Forced on, the same call draws a bar: the check above can fail.
    run_tasks(_square, range(30), n_jobs=1, progress=True, description="squares")
    assert "squares" in capsys.readouterr().err
