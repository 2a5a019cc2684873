"""Refinement by simulation: the outside waits corrected for queueing and deadline management.

The direct estimate (sim.fit.model) takes the outside wait's median as the fitted time to
reply less the assumed handler effort.  In the model, orders also queue for handlers and
units hurry what can be done in time, so the simulated time to reply is not exactly the sum.
One round simulates the fitted scenario once (``seed``), measures the same statistic the
same way (censored lognormal median of sign-for to reply, first-round non-urgent non-hard
orders, per category) and scales each category's outside wait by observed / simulated
(clipped to 0.5..2), the effort part held fixed.
"""

from __future__ import annotations

import math

import numpy as np

from sim.fit import estimate as est
from sim.fit.read import Export
from sim.scenario import CATEGORIES


def refine_fit(f: est.Fitted, exp: Export, seed: int, round_no: int) -> None:
    """Simulate the fitted scenario once and rescale the outside-wait medians."""
    import sim
    from sim.scenario import build_calendar, from_dict

    scn = from_dict(f.scenario, f"fitted scenario (refinement {round_no})")
    res = sim.simulate(scn, seed=seed)
    o = res.orders
    cal = build_calendar(scn)
    hpd = cal.hours_per_day
    horizon = scn.horizon_hours
    s = o["first_sign"].to_numpy(dtype=float)
    r = o["last_reply"].to_numpy(dtype=float)
    signed = ~np.isnan(s)
    replied = ~np.isnan(r)
    d = est.working_days(cal, np.where(signed, s, 0.0), np.where(replied, r, horizon))
    cats = o["category"].astype(str).to_numpy()
    base = (signed & ~o["urgent"].to_numpy(dtype=bool) & (o["replies"].to_numpy() <= 1)
            & (o["reopens"].to_numpy() == 0) & (o["final_unit"].to_numpy() >= 0))  # not the centre's
    if "hard_case" in exp.table:
        base &= ~o["hard"].to_numpy(dtype=bool)
    else:  # the same inference as the fit: late or extended replies are hard cases
        limits = f.scenario["time_limits"]["reply_working_days"]
        lim = np.array([limits[c] for c in cats])
        base &= ~(((d > lim) & replied) | (o["extensions"].to_numpy() > 0))
    h = f.scenario["handling"]
    effort_wd = h["effort_median_hours"] / hpd
    observed = f.summary["observed_reply_median"]
    changes = []
    sim_median: dict[str, float] = {}
    for c in CATEGORIES:
        sel = base & (cats == c)
        if replied[sel].sum() < est.MIN_PER_CATEGORY:
            continue
        med, _, _ = est.censored_lognormal(d[sel], replied[sel])
        if not math.isfinite(med):
            continue
        sim_median[c] = med
        old = h["lead_median_working_days"][c]
        factor = _correction(observed[c], med, effort_wd)
        h["lead_median_working_days"][c] = est._r(max(0.05, old * factor), 3)
        changes.append(f"{c} {old:g} -> {h['lead_median_working_days'][c]:g} (simulated median "
                       f"{med:.2f} wd, export {observed[c]:.2f})")
    _refine_units(f, o, d, cats, base, replied, sim_median, effort_wd, changes)
    # hard cases: the multiplier scaled by the export's over the simulated hard-case median
    hard_med = f.summary.get("observed_hard_median")
    if hard_med is not None:
        hsel = (signed & ~o["urgent"].to_numpy(dtype=bool) & (o["replies"].to_numpy() <= 1)
                & (o["reopens"].to_numpy() == 0) & (o["final_unit"].to_numpy() >= 0) & ~base)
        if replied[hsel].sum() >= 10:
            med, _, _ = est.censored_lognormal(d[hsel], replied[hsel])
            if math.isfinite(med):
                old = h["hard_lead_multiplier"]
                factor = _correction(hard_med, med, effort_wd)
                h["hard_lead_multiplier"] = est._r(min(20.0, max(1.0, old * factor)), 3)
                changes.append(f"hard_lead_multiplier {old:g} -> {h['hard_lead_multiplier']:g} "
                               f"(simulated hard-case median {med:.2f} wd, export {hard_med:.2f})")
    f.report.append(f"- refinement round {round_no} (simulated seed {seed}): " + ("; ".join(changes) or "no change"))
    f.comments["handling.lead_median_working_days"] = (
        f.comments["handling.lead_median_working_days"].split("; refined")[0]
        + f"; refined by {round_no} simulation round(s): each median scaled by the export's "
        f"over the simulated median time to reply (sim.fit.refine)")


def _correction(observed: float, simulated: float, effort_wd: float) -> float:
    """The factor on an outside wait that turns the simulated median time to reply into the
    export's (working days; the effort part held fixed), clipped to 0.5..2 per round."""
    return min(2.0, max(0.5, (observed - effort_wd) / max(simulated - effort_wd, 0.05)))


def _refine_units(f: est.Fitted, o, d: np.ndarray, cats: np.ndarray, base: np.ndarray,
                  replied: np.ndarray, sim_median: dict[str, float], effort_wd: float,
                  changes: list[str]) -> None:
    """Each fitted unit's outside-wait multiplier scaled as the categories' medians are: the
    export's ratio r (time to reply over the category's median) against the simulated one,
    on the unit's mean category median M, (r M - effort) / (r_sim M - effort), clipped to
    0.5..2: what the unit's queue for handlers adds is then not counted twice."""
    observed_ratio = f.summary.get("unit_factors") or {}
    if not observed_ratio or not sim_median:
        return
    names = [u["name"] for u in f.scenario["units"]]
    final = o["final_unit"].to_numpy()
    observed = f.summary["observed_reply_median"]
    ratio = d / np.array([sim_median.get(c, np.nan) for c in cats])
    for i, name in enumerate(names):
        if name not in observed_ratio:
            continue
        sel = base & (final == i) & np.isfinite(ratio)
        if replied[sel].sum() < est.MIN_PER_CATEGORY:
            continue
        r_sim, _, _ = est.censored_lognormal(ratio[sel], replied[sel])
        if not math.isfinite(r_sim):
            continue
        m = float(np.mean([observed[c] for c in cats[sel]]))
        factor = _correction(observed_ratio[name] * m, r_sim * m, effort_wd)
        unit = f.scenario["units"][i]
        old = unit.get("lead_factor", 1.0)
        lo, hi = est.LEAD_FACTOR_RANGE
        unit["lead_factor"] = est._r(min(hi, max(lo, old * factor)), 3)
        if unit["lead_factor"] != old:
            changes.append(f"{name} lead_factor {old:g} -> {unit['lead_factor']:g}")
