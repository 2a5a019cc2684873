"""The calendar in the arrivals (issue 11, part 3): generator checks (category mix, hour bands,
weekday profile against the scenario), public holidays, topic surges, scenario inheritance
(``extends``) and the shipped surge scenario.

Statistical tolerances are 4 standard errors of the quantity compared, derived from its
sampling distribution (said at each check); seeds are fixed.  Arrival generation alone is
vectorised (~0.1 s for the baseline's year), so the generator checks use the baseline's own
demand, the scenario whose values they check."""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import BASELINE

import sim
from sim.batch.store import scenario_hash
from sim.calendar import holiday_flags
from sim.demand import generate
from sim.rates import base_hourly_rates, hourly_rates
from sim.result import Result
from sim.rng import Streams
from sim.scenario import CATEGORIES, ScenarioError, from_dict, load_scenario

REPO = Path(__file__).resolve().parent.parent
SURGE = REPO / "scenarios" / "yuelu_2021_surge.toml"
SMALL = REPO / "tests" / "scenarios" / "small.toml"
BANDS = {  # the source's hour bands (泰迪杯 附件4), hours of the day
    "07-12": [7, 8, 9, 10, 11],
    "12-14": [12, 13],
    "14-18": [14, 15, 16, 17],
    "18-22": [18, 19, 20, 21],
    "22-07": [22, 23, 0, 1, 2, 3, 4, 5, 6],
}
SOURCE_BANDS = {"07-12": 0.313, "12-14": 0.105, "14-18": 0.302, "18-22": 0.162, "22-07": 0.118}
EPIDEMIC = ["疫情防控与社区防疫", "医疗卫生与疫情防控"]


def _multinomial_ok(counts: np.ndarray, p: np.ndarray, n: int, k: float = 4.0) -> np.ndarray:
    """Each cell's observed share within k standard errors of p: given the total n, the
    cells are multinomial, so a share's SE is sqrt(p (1 - p) / n)."""
    se = np.sqrt(p * (1 - p) / n)
    return np.abs(counts / n - p) <= k * se


def _day_index(scn, day: dt.date) -> int:
    return (day - scn.run.start).days


# -- generator checks: the arrivals follow the scenario's own values ----------------------------
@pytest.mark.parametrize("seed", [1, 2])
def test_category_mix_and_hour_bands_match_the_scenario(seed):
    """Given the number of orders, each order's category and hour are independent draws with
    the scenario's category shares and hour-weight shares (the day's weight multiplies all
    hours alike), so both are multinomial: 4 SE per cell."""
    scn = load_scenario(BASELINE)
    orders = generate(scn, Streams(seed))
    n = len(orders)
    p_cat = np.array([scn.demand.category_shares.get(c) for c in CATEGORIES])
    assert _multinomial_ok(np.bincount(orders.category, minlength=4), p_cat, n).all()
    w = np.asarray(scn.demand.hour_weights) / sum(scn.demand.hour_weights)
    hour = (orders.time % 24).astype(int)
    p_band = np.array([w[h].sum() for h in BANDS.values()])
    counts = np.array([np.isin(hour, h).sum() for h in BANDS.values()])
    assert _multinomial_ok(counts, p_band, n).all(), (counts / n, p_band)


def test_baseline_profiles_are_the_sources():
    """The baseline's expected arrivals (the rate function, no sampling) show the source's
    hour bands (to 0.05 pp) and, over the year with its holidays, the source's weekday
    profile (to 0.01; 泰迪杯 附件4, shared VALIDATION.md)."""
    scn = load_scenario(BASELINE)
    d = scn.demand
    w = np.asarray(d.hour_weights) / sum(d.hour_weights)
    for band, hours in BANDS.items():
        assert w[hours].sum() == pytest.approx(SOURCE_BANDS[band], abs=5e-4), band
    day = hourly_rates(scn).reshape(scn.run.horizon_days, 24).sum(axis=1)
    wd = np.array([(scn.run.start + dt.timedelta(days=i)).weekday() for i in range(len(day))])
    profile = np.array([day[wd == k].mean() for k in range(7)])
    assert profile / profile.mean() == pytest.approx([1.17, 1.32, 1.25, 1.08, 0.97, 0.60, 0.62], abs=0.01)
    assert d.holiday_weight is not None and 0 < d.holiday_weight < 1


def test_weekday_profile_of_the_arrivals():
    """Ordinary days' mean counts by weekday follow weekday_weights: each weekday's count is
    Poisson with mean (days x rate), so its share of the ordinary-day total is within 4 SE
    (binomial given the total) of the expected share from the rate function."""
    scn = load_scenario(BASELINE)
    orders = generate(scn, Streams(3))
    days = scn.run.horizon_days
    day = (orders.time // 24).astype(int)
    per_day = np.bincount(day, minlength=days)[:days]
    hol = np.array(holiday_flags(scn.run.start, days, "chinese"))
    wd = np.array([(scn.run.start + dt.timedelta(days=i)).weekday() for i in range(days)])
    expected_day = base_hourly_rates(scn).reshape(days, 24).sum(axis=1)
    ordinary = ~hol
    n = per_day[ordinary].sum()
    counts = np.array([per_day[ordinary & (wd == k)].sum() for k in range(7)])
    p = np.array([expected_day[ordinary & (wd == k)].sum() for k in range(7)])
    assert _multinomial_ok(counts, p / p.sum(), n).all()


# -- public holidays --------------------------------------------------------------------------------
def test_holiday_flags_2021():
    flags = holiday_flags(dt.date(2021, 1, 1), 365, "chinese")
    on = {dt.date(2021, 1, 1) + dt.timedelta(days=i) for i, f in enumerate(flags) if f}
    # 2021: New Year 3, Spring Festival 7, Qingming 3, Labour Day 5, Dragon Boat 3,
    # Mid-Autumn 3, National Day 7 days off
    assert len(on) == 31
    assert dt.date(2021, 2, 13) in on  # a Saturday inside the Spring Festival
    assert dt.date(2021, 2, 20) not in on  # its adjusted working Saturday (调休上班)
    assert dt.date(2021, 2, 21) not in on  # an ordinary Sunday
    assert not any(holiday_flags(dt.date(2021, 1, 1), 365, "weekends"))
    # a holiday file: a day off is a holiday, an adjusted working day is not
    special = {dt.date(2021, 3, 10): False, dt.date(2021, 10, 4): True}
    flags = holiday_flags(dt.date(2021, 1, 1), 365, "chinese", special)
    assert flags[(dt.date(2021, 3, 10) - dt.date(2021, 1, 1)).days]
    assert not flags[(dt.date(2021, 10, 4) - dt.date(2021, 1, 1)).days]
    # projected (the `holidays` package) for a year without official data
    proj = holiday_flags(dt.date(2030, 1, 1), 365, "projected")
    assert proj[0] and 5 <= sum(proj) <= 40


def _year(**over):
    """The small scenario over a whole year, flat months and weekdays."""
    base = {"run.horizon_days": 365, "demand.month_weights": [1.0] * 12,
            "demand.weekday_weights": [1.0] * 7}
    return load_scenario(SMALL, overrides=base | over)


def test_holiday_weight_in_the_rate_function():
    plain = _year()
    hol = _year(**{"demand.holiday_weight": 0.6, "demand.weekday_weights": [1.2, 1, 1, 1, 1, 0.9, 0.9]})
    day_rate = hourly_rates(hol).reshape(365, 24).sum(axis=1)
    flags = np.array(holiday_flags(dt.date(2021, 1, 1), 365, "chinese"))
    # a holiday is holiday_weight x the mean weekday (1.0 here) whatever its weekday; an
    # ordinary day keeps its weekday's weight
    ordinary_mean = day_rate[~flags & (np.arange(365) % 7 == 2)].mean()  # Sundays of 2021
    assert day_rate[flags] == pytest.approx(0.6 * ordinary_mean / 0.9)
    # the year still holds annual_orders: holidays move orders to other days
    assert hourly_rates(hol).sum() == pytest.approx(hol.demand.annual_orders)
    # omitted: no holiday effect (holidays get their weekday's weight, as before the field):
    # with flat months and weekdays every day has the same rate
    plain_day = hourly_rates(plain).reshape(365, 24).sum(axis=1)
    assert plain_day == pytest.approx(np.full(365, plain.demand.annual_orders / 365))


def test_holiday_weight_lowers_generated_arrivals():
    """Holiday days' mean count / ordinary days' mean count near holiday_weight (flat months
    and weekdays).  Sums H and O of Poisson counts: the ratio's SE is ratio x
    sqrt(1/H + 1/O) (delta method); 4 SE."""
    scn = _year(**{"demand.holiday_weight": 0.6, "demand.annual_orders": 200_000})
    orders = generate(scn, Streams(11))
    per_day = np.bincount((orders.time // 24).astype(int), minlength=365)[:365]
    flags = np.array(holiday_flags(dt.date(2021, 1, 1), 365, "chinese"))
    h, o = per_day[flags].sum(), per_day[~flags].sum()
    ratio = (h / flags.sum()) / (o / (~flags).sum())
    assert abs(ratio - 0.6) <= 4 * ratio * np.sqrt(1 / h + 1 / o)


def test_holidays_follow_the_scenario_calendar():
    """A holiday file's day off is a holiday; with calendar.holidays = "weekends" there are
    none (so holiday_weight changes nothing)."""
    over = {"demand.holiday_weight": 0.5}
    weekends = _year(**over, **{"calendar.holidays": "weekends"})
    assert np.allclose(hourly_rates(weekends), hourly_rates(_year(**{"calendar.holidays": "weekends"})))
    filed = _year(**over, **{"calendar.special_days": [{"date": "2021-03-10", "working": False}]})
    rate = hourly_rates(filed).reshape(365, 24).sum(axis=1)
    i = (dt.date(2021, 3, 10) - dt.date(2021, 1, 1)).days
    assert rate[i] == pytest.approx(0.5 * rate[i + 1])


# -- surges by topic --------------------------------------------------------------------------------
FEB = {"start": "2021-02-01", "end": "2021-02-28"}


def _small(**over):
    return load_scenario(SMALL, overrides={"demand.annual_orders": 50_000} | over)


def _window(scn, orders, start="2021-02-01", end="2021-03-01"):
    a = _day_index(scn, dt.date.fromisoformat(start)) * 24
    b = _day_index(scn, dt.date.fromisoformat(end)) * 24
    return (orders.time >= a) & (orders.time < b)


def test_a_topic_surge_raises_only_its_topics():
    """topics = ["市容"] (share 0.5), factor 1.5, no topics_share: the total rate x 1.5, all
    the extra in 市容 (x 2), 本地事务 unchanged.  Common random numbers: the other topic's
    orders are the very same orders (times, draws), and so is everything outside the window."""
    plain = _small()
    surged = _small(**{"demand.surges": [FEB | {"factor": 1.5, "topics": ["市容"]}]})
    assert hourly_rates(surged)[24 * 31 : 24 * 59] == pytest.approx(1.5 * hourly_rates(plain)[24 * 31 : 24 * 59])
    a, b = generate(plain, Streams(5)), generate(surged, Streams(5))
    other_a, other_b = a.topic == 1, b.topic == 1
    assert np.array_equal(a.time[other_a], b.time[other_b])
    assert np.array_equal(np.frombuffer(a.uniforms["route"])[other_a], np.frombuffer(b.uniforms["route"])[other_b])
    outside_a, outside_b = ~_window(plain, a), ~_window(surged, b)
    assert np.array_equal(a.time[outside_a], b.time[outside_b])
    assert np.array_equal(a.category[outside_a], b.category[outside_b])
    # 市容 in the window: the base orders plus Poisson extras with the same mean (x 2):
    # extras / base has SE ~ sqrt(1/extras + 1/base) (two independent Poisson counts)
    base = (_window(plain, a) & (a.topic == 0)).sum()
    now = (_window(surged, b) & (b.topic == 0)).sum()
    extra = now - base
    assert abs(extra / base - 1.0) <= 4 * np.sqrt(1 / extra + 1 / base)


def test_a_topic_surge_with_a_share():
    """factor 1.4 with topics_share 0.2 on 市容 (base 0.5 -> named fall to 0.2 of the window,
    others rise): total x 1.4 in the rates, the window's 市容 share near 0.2 (binomial given
    the window's count, 4 SE); the fall is made by thinning 市容's base orders."""
    plain = _small()
    scn = _small(**{"demand.surges": [FEB | {"factor": 1.4, "topics": ["市容"], "topics_share": 0.2}]})
    w = slice(24 * 31, 24 * 59)
    assert hourly_rates(scn)[w].sum() == pytest.approx(1.4 * hourly_rates(plain)[w].sum())
    orders = generate(scn, Streams(6))
    inside = _window(scn, orders)
    n = inside.sum()
    share = (orders.topic[inside] == 0).mean()
    assert abs(share - 0.2) <= 4 * np.sqrt(0.2 * 0.8 / n)
    kept = orders.time[inside & (orders.topic == 0)]
    base = generate(plain, Streams(6))
    assert np.isin(kept, base.time).mean() == 1.0  # no new 市容 order: only thinned ones


def test_an_all_orders_surge_below_one_thins_the_base_orders():
    plain, low = _small(), _small(**{"demand.surges": [FEB | {"factor": 0.5}]})
    a, b = generate(plain, Streams(8)), generate(low, Streams(8))
    assert np.isin(b.time, a.time).all()  # a subset of the same orders
    n_a, n_b = _window(plain, a).sum(), _window(low, b).sum()
    # kept ~ Binomial(n_a, 0.5): 4 SE
    assert abs(n_b / n_a - 0.5) <= 4 * np.sqrt(0.25 / n_a)


@pytest.mark.parametrize(("surge", "message"), [
    ({"topics": ["无此主题"]}, r"demand\.surges\.0\.topics: unknown topic '无此主题'"),
    ({"topics": ["市容", "市容"]}, r"demand\.surges\.0\.topics: topic '市容' is named twice"),
    ({"topics_share": 0.3}, r"demand\.surges\.0: topics_share needs topics"),
    ({"topics": ["市容", "本地事务"], "topics_share": 0.3}, r"hold every order"),
    ({"topics": ["市容"], "factor": 0.4}, r"demand\.surges\.0\.factor: .*allowed >= 0\.5"),
])
def test_bad_topic_surges(surge, message):
    with pytest.raises(ScenarioError, match=message):
        _small(**{"demand.surges": [FEB | {"factor": 1.2} | surge]})


# -- extends ----------------------------------------------------------------------------------------
def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_extends_merges_tables_and_replaces_arrays(tmp_path):
    base = tmp_path / "base" / "small.toml"
    shutil.copy(SMALL, _write(base, ""))
    child = _write(tmp_path / "child" / "child.toml", """
extends = "../base/small.toml"
name = "child"
[demand]
annual_orders = 3000
surges = [{ start = 2021-02-01, end = 2021-02-10, factor = 2.0, topics = ["一切"] }]
[[topics]]
name = "一切"
share = 1.0
unit = "区城管局"
""")
    scn, ref = load_scenario(child), load_scenario(SMALL)
    assert scn.name == "child" and scn.demand.annual_orders == 3000
    assert scn.demand.category_shares == ref.demand.category_shares  # merged table keeps the rest
    assert scn.units == ref.units  # not named in the child: inherited
    assert [t.name for t in scn.topics] == ["一切"]  # an array of tables is replaced whole
    assert scn.demand.surges[0].factor == 2.0 and scn.demand.surges[0].topics == ["一切"]


def test_extends_errors(tmp_path):
    def err(text: str, name: str = "c.toml") -> str:
        path = _write(tmp_path / name, text)
        with pytest.raises(ScenarioError) as e:
            load_scenario(path)
        msg = str(e.value)
        assert "\n" not in msg and str(path) in msg
        return msg

    assert "extends: 'nope.toml': no such file" in err('extends = "nope.toml"\n')
    assert "extends: expected the path of a scenario file" in err("extends = 3\n")
    assert "leads back to itself (c.toml -> c.toml)" in err('extends = "c.toml"\n')
    _write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    _write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    msg = err('extends = "a.toml"\n', "start.toml")
    assert "leads back to itself" in msg and "a.toml -> b.toml -> a.toml" in msg
    shutil.copy(SMALL, tmp_path / "small.toml")
    msg = err('extends = "small.toml"\ndemand = 5\n', "typed.toml")
    assert "demand: is a value (5) here but a table in" in msg
    with pytest.raises(ScenarioError, match=r"x: extends: only a scenario file can extend another"):
        from_dict({"extends": "small.toml"}, "x")


def test_extends_error_on_a_merged_field_names_the_child(tmp_path):
    shutil.copy(SMALL, tmp_path / "small.toml")
    path = _write(tmp_path / "c.toml", 'extends = "small.toml"\n[run]\nhorizon_days = 0\n')
    with pytest.raises(ScenarioError, match=r"c\.toml: run\.horizon_days: "):
        load_scenario(path)


def test_a_base_holiday_file_stays_relative_to_the_base(tmp_path):
    base_dir = tmp_path / "base"
    _write(base_dir / "days.csv", "date,working\n2021-02-03,false\n")
    text = SMALL.read_text(encoding="utf-8").replace(
        'holidays = "chinese"', 'holidays = "chinese"\nholiday_file = "days.csv"')
    _write(base_dir / "small.toml", text)
    child = _write(tmp_path / "other" / "child.toml", 'extends = "../base/small.toml"\nname = "c"\n')
    scn = load_scenario(child)
    assert [(d.date, d.working) for d in scn.calendar.special_days] == [(dt.date(2021, 2, 3), False)]


def test_a_run_folder_of_an_extending_scenario_stands_alone(tmp_path):
    """The saved scenario.toml is the merged scenario, with no extends: it loads with the base
    file gone, and its hash is the resolved scenario's."""
    shutil.copy(SMALL, _write(tmp_path / "base.toml", ""))
    child = _write(tmp_path / "child.toml", 'extends = "base.toml"\nname = "child"\n'
                   '[demand]\nsurges = [{ start = 2021-02-01, end = 2021-02-10, factor = 2.0, topics = ["市容"] }]\n')
    scn = load_scenario(child)
    folder = sim.simulate(scn, seed=1).save(tmp_path / "run")
    (tmp_path / "base.toml").unlink()
    with (folder / "scenario.toml").open("rb") as fh:
        saved = tomllib.load(fh)
    assert "extends" not in saved
    again = load_scenario(folder / "scenario.toml")
    assert again == scn and scenario_hash(again) == scenario_hash(scn)
    assert Result.load(folder).scenario == scn


# -- the shipped surge scenario ---------------------------------------------------------------------
def test_the_surge_scenario_is_the_baseline_plus_the_surge():
    base, surge = load_scenario(BASELINE), load_scenario(SURGE)
    assert surge.model_copy(update={"name": base.name, "description": base.description,
                                    "demand": base.demand}) == base
    assert surge.demand.model_copy(update={"surges": []}) == base.demand
    (s,) = surge.demand.surges
    assert (s.start, s.end, s.factor) == (dt.date(2021, 7, 29), dt.date(2021, 8, 31), 1.4)
    assert sorted(s.topics) == sorted(EPIDEMIC) and s.topics_share == 0.168


def test_the_surge_scenario_generates_1_4_times_the_window():
    """Rates: exactly x 1.4 in the window, x 1 elsewhere.  Seed 1's arrivals: the window's
    count / the baseline's = 1 + extras / base, two independent Poisson counts (extras mean
    0.4 x base): SE ~ (extras / base) sqrt(1/extras + 1/base); 4 SE.  Epidemic share of the
    window's orders near 0.168 (binomial given the count, 4 SE).  Outside the window the
    orders are the baseline's own."""
    base, surge = load_scenario(BASELINE), load_scenario(SURGE)
    a, b = _day_index(base, dt.date(2021, 7, 29)) * 24, _day_index(base, dt.date(2021, 9, 1)) * 24
    rb, rs = hourly_rates(base), hourly_rates(surge)
    assert rs[a:b].sum() == pytest.approx(1.4 * rb[a:b].sum())
    assert np.array_equal(rs[:a], rb[:a]) and np.array_equal(rs[b:], rb[b:])
    ob, os_ = generate(base, Streams(1)), generate(surge, Streams(1))
    wb, ws = (ob.time >= a) & (ob.time < b), (os_.time >= a) & (os_.time < b)
    n_base, n_surge = wb.sum(), ws.sum()
    extra = n_surge - n_base
    ratio = n_surge / n_base
    assert abs(ratio - 1.4) <= 4 * (extra / n_base) * np.sqrt(1 / extra + 1 / n_base)
    names = [t.name for t in surge.topics]
    epi = np.isin(os_.topic[ws], [names.index(t) for t in EPIDEMIC])
    assert abs(epi.mean() - 0.168) <= 4 * np.sqrt(0.168 * 0.832 / n_surge)
    assert np.array_equal(ob.time[ob.time < a], os_.time[os_.time < a])
    assert np.array_equal(ob.time[ob.time >= b], os_.time[os_.time >= b])
