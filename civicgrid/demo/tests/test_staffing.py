"""How many grid workers each generated grid gets (no database)."""

from __future__ import annotations

from civicgrid.demo import catalogue
from civicgrid.demo.seeding import rng
from civicgrid.demo.staff import plan_staff_counts


def test_every_required_staff_count_occurs_and_the_login_grid_is_staffed():
    required = set(catalogue.load("profile")["staffing"]["required"])
    codes = [f"510106024001{n:03d}" for n in range(1, 13)]
    for seed in range(200):
        counts = plan_staff_counts(rng(seed, "staff"), codes, fixed=codes[0])
        assert required <= set(counts), seed
        assert counts[0] >= 1


def test_counts_follow_the_weights_on_many_grids():
    counts = plan_staff_counts(rng(1, "staff"), [str(n) for n in range(5000)], fixed=None)
    share_of_three = counts.count(3) / len(counts)
    assert 0.40 < share_of_three < 0.50  # weight 45 of 100
    assert max(counts) == 6
