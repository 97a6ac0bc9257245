"""bench_compute_bound (issue 34): its FLOP counting and the claims its rendering makes."""

import copy
from pathlib import Path

import pytest
import torch

from benchmarks import bench_compute_bound as bench
from benchmarks import render_results as render
from benchmarks.rendering._text import ClaimError
from benchmarks.rendering.compute_bound import _compute_bound

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results():
    return render.load_results()


def test_in_place_gemms_and_ffts_are_counted():
    a, b, c = torch.randn(3, 4, 5), torch.randn(3, 5, 6), torch.zeros(3, 4, 6)
    m = torch.zeros(4, 6)
    with bench.flop_counter() as fc:
        c.baddbmm_(a, b)
        m.addmm_(a[0], b[0])
        torch.fft.fft(torch.randn(2, 64, dtype=torch.complex64))
    counts = {str(k): v for k, v in fc.get_flop_counts()["Global"].items()}
    assert counts["aten.baddbmm_"] == 2 * 3 * 4 * 5 * 6
    assert counts["aten.addmm_"] == 2 * 4 * 5 * 6
    assert counts["aten._fft_c2c"] == 2 * 5 * 64 * 6


def test_the_scan_split_takes_batched_products_inside_the_lru_only():
    counts = {"Global": {"aten.mm": 10, "aten.bmm": 7},
              "M.blocks.0.lru": {"aten.mm": 4, "aten.bmm": 3, "aten.baddbmm_": 2},
              "M.reducer": {"aten.bmm": 2}}
    assert bench._split_scan(counts) == (17, 5)


def test_rendering_refuses_a_run_whose_outputs_differ(results):
    r = copy.deepcopy(results)
    t = r["bench_compute_bound"]["transform"]["attention"]["rates"]["1 thread"]
    t["max_abs_difference"] = 0.5
    with pytest.raises(ClaimError, match="within float32"):
        _compute_bound(r, "md")


def test_the_verdicts_follow_the_numbers(results):
    r = copy.deepcopy(results)
    one = r["bench_compute_bound"]["transform"]["attention"]["rates"]["1 thread"]
    one["after"]["records_per_cpu_second"] = 1000.0
    assert "on one thread met (1000" in _compute_bound(r, "md")["cb_verdict"]
    one["after"]["records_per_cpu_second"] = 10.0
    assert "on one thread not met (10" in _compute_bound(r, "md")["cb_verdict"]


def test_the_bf16_training_row_and_its_verdict(results):
    r = copy.deepcopy(results)
    tr = r["bench_compute_bound"]["training"]
    r["bench_compute_bound"]["dense_gflops_per_cpu_second"]["1 thread"].setdefault(
        "1024^3 bfloat16", 1400.0)
    tr.setdefault("bf16_bound_crops_per_cpu_second", 1400.0)
    tr.setdefault("bf16_max_relative_loss_difference", 0.003)
    tr["after_bf16"] = {"crops_per_cpu_second": 3 * tr["before"]["crops_per_cpu_second"]}
    tr["speedup_cpu_bf16"] = 3.0
    out = _compute_bound(r, "md")
    assert "bfloat16 autocast" in out["cb_table"]
    assert "3.00x the reference's float32 rate, met" in out["cb_verdict"]
    tr["speedup_cpu_bf16"] = 1.5
    assert "1.50x the reference's float32 rate, not met" in _compute_bound(r, "md")["cb_verdict"]
