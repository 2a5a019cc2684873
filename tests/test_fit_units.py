"""``hotline fit``: a unit's own outside wait (``units.lead_factor``, issue 15), fitted where
the unit has enough replies and refined by simulation.

Budget: about 6 s (one run of ~2,500 orders, exported and fitted with two refinement rounds)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import sim
from sim.export import export
from sim.fit import fit
from sim.scenario import from_dict

HERE = Path(__file__).parent
CONGESTED = HERE / "scenarios" / "fit_congested.toml"
TRUE_FACTOR = 2.5  # the first unit's outside waits, x the second's


def test_a_slow_unit_is_recovered(tmp_path):
    """fit_congested.toml uncongested (20 handlers per unit), its first unit's outside waits
    x 2.5: the fitted factors keep that ratio.  Only the ratio is identified (a category's
    median and a unit's factor multiply: the fit's gauge puts the district's typical time in
    the category medians), so the test checks factor 0 / factor 1.

    Tolerance: over seeds 1-8 the fitted ratio was 2.40 on average with a standard deviation
    of 0.085 (2.25-2.51; about 4 % low: the slow unit's late replies are taken as hard cases
    and left out of the fit's selection); 4 standard deviations around the truth."""
    data = tomllib.loads(CONGESTED.read_text(encoding="utf-8"))
    for u in data["units"]:
        u["handlers"] = 20
    data["units"][0]["lead_factor"] = TRUE_FACTOR
    sim.simulate(from_dict(data, str(CONGESTED)), seed=1).save(tmp_path / "run")
    path, _ = export(tmp_path / "run", "orders-csv", tmp_path / "orders.csv")
    res = fit(path, out=tmp_path / "fitted.toml", refine=2, seed=101)
    text = res.scenario_path.read_text(encoding="utf-8")
    got = [u["lead_factor"] for u in tomllib.loads(text)["units"]]
    assert abs(got[0] / got[1] - TRUE_FACTOR) <= 4 * 0.085, got
    # each factor says how it was made, and the report has the per-unit table
    assert len(re.findall(r"^lead_factor = .*as an outside-wait multiplier", text, flags=re.M)) == 2
    report = (tmp_path / "fit_report.md").read_text(encoding="utf-8")
    assert "`units.lead_factor`" in report and "lead_factor" in report
    # the fitted scenario runs
    sim.simulate(sim.load_scenario(res.scenario_path), seed=2)
