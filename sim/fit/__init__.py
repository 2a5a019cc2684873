"""``hotline fit``: a scenario from a district's own work-order export.

    from sim.fit import fit
    result = fit("orders.xlsx", out="scenarios/my_district.toml")
    result = fit("311.csv", mapping="mappings/nyc311.toml", year=2018, out="scenarios/nyc.toml")

Reads the export (sim.fit.read: encodings, headers, mappings, bad rows), estimates every
parameter it can (sim.fit.estimate; each with its method in the scenario's comments),
optionally refines the outside waits by simulating the fitted scenario (sim.fit.refine), and
writes the scenario, a targets file with the export's own indicators and fit_report.md
(sim.fit.write).  Personal data never leaves the export: only recognised, non-personal
columns are read (sim.fit.read).
"""

from __future__ import annotations

from sim.fit.model import FitResult, fit
from sim.fit.read import FitError, Mapping, load_mapping, read_export

__all__ = ["FitError", "FitResult", "Mapping", "fit", "load_mapping", "read_export"]
