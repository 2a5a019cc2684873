"""Scenario loading, dotted-path overrides and one-line validation errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import tomli_w

import sim
from sim.scenario import MECHANISMS, parse_value


def write(tmp_path: Path, data: dict, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(tomli_w.dumps(data).encode("utf-8"))
    return path


def load_error(path: Path | str) -> str:
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path)
    msg = str(info.value)
    assert "\n" not in msg, f"error message is not one line: {msg!r}"
    assert str(path) in msg, f"error message does not name the file: {msg!r}"
    return msg


# -- the baseline ---------------------------------------------------------------------------
def test_baseline_loads(baseline_path):
    scn = sim.load_scenario(baseline_path)
    assert isinstance(scn, sim.Scenario)
    assert scn.schema_version == 1
    assert scn.run.start == dt.date(2021, 1, 1)
    assert scn.run.horizon_days == 365
    assert scn.calendar.holidays == "chinese"
    assert len(scn.units) == 50
    assert sum(u.kind == "department" for u in scn.units) == 33
    assert sum(u.kind == "street" for u in scn.units) == 17
    assert scn.horizon_hours == 365 * 24.0
    assert scn.expected_orders() == pytest.approx(scn.demand.annual_orders, rel=1e-9)


def test_baseline_has_all_six_mechanisms_enabled(baseline_path):
    scn = sim.load_scenario(baseline_path)
    assert MECHANISMS == (
        "one_model",
        "one_list",
        "one_standard",
        "one_team",
        "one_set",
        "one_plan",
    )
    for name in MECHANISMS:
        assert getattr(scn.mechanisms, name).enabled, name


def test_baseline_dict_validates_unchanged(baseline_dict, tmp_path):
    path = write(tmp_path, baseline_dict, "copy.toml")
    assert sim.load_scenario(path) == sim.load_scenario(
        Path(__file__).resolve().parent.parent / "scenarios" / "yuelu_2021.toml"
    )


def test_scenario_is_frozen(small_scenario):
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        small_scenario.name = "other"


# -- overrides ------------------------------------------------------------------------------
def test_dotted_overrides(baseline_path):
    base = sim.load_scenario(baseline_path)
    scn = sim.load_scenario(
        baseline_path,
        overrides={
            "handling.scale": 1.7,
            "mechanisms.one_team.inspectors": 9,
            "units.0.handlers": 3,
            "units.49.handlers": 11,
            "mechanisms.one_plan.enabled": False,
        },
    )
    assert scn.handling.scale == 1.7
    assert scn.mechanisms.one_team.inspectors == 9
    assert scn.units[0].handlers == 3
    assert scn.units[49].handlers == 11
    assert not scn.mechanisms.one_plan.enabled
    # nothing else moved
    assert scn.units[1] == base.units[1]
    assert scn.units[0].name == base.units[0].name
    assert scn.mechanisms.one_team.actions_per_inspector_day == (
        base.mechanisms.one_team.actions_per_inspector_day
    )
    assert scn.demand == base.demand


def test_with_overrides_returns_a_validated_copy(small_scenario):
    scn = sim.with_overrides(small_scenario, {"handling.scale": 2.0, "units.3.handlers": 1})
    assert scn.handling.scale == 2.0
    assert scn.units[3].handlers == 1
    assert small_scenario.handling.scale == 1.0  # the original is untouched
    with pytest.raises(sim.ScenarioError, match=r"handling\.scale"):
        sim.with_overrides(small_scenario, {"handling.scale": -1.0})


def test_override_of_a_missing_list_item(baseline_path):
    with pytest.raises(sim.ScenarioError, match=r"units\.50") as info:
        sim.load_scenario(baseline_path, overrides={"units.50.handlers": 1})
    assert "\n" not in str(info.value)


def test_override_of_an_unknown_field_is_refused(baseline_path):
    with pytest.raises(sim.ScenarioError, match=r"handling\.speed_of_light") as info:
        sim.load_scenario(baseline_path, overrides={"handling.speed_of_light": 1.0})
    assert "unknown field" in str(info.value)


def test_override_inside_a_value_is_refused(baseline_path):
    with pytest.raises(sim.ScenarioError, match=r"handling\.scale\.x"):
        sim.load_scenario(baseline_path, overrides={"handling.scale.x": 1.0})


def test_parse_value():
    assert parse_value("1.5") == 1.5
    assert parse_value("3") == 3
    assert parse_value("false") is False
    assert parse_value("[1, 2]") == [1, 2]
    assert parse_value("weekends") == "weekends"


# -- bad input: one line naming the file and the field path -------------------------------------
def test_unknown_field(tmp_path, baseline_dict):
    baseline_dict["handling"]["sclae"] = 1.0
    msg = load_error(write(tmp_path, baseline_dict))
    assert "handling.sclae" in msg
    assert "unknown field" in msg


def test_unknown_top_level_table(tmp_path, baseline_dict):
    baseline_dict["mechanism"] = {"one_team": {"enabled": False}}
    assert "mechanism" in load_error(write(tmp_path, baseline_dict))


def test_wrong_type(tmp_path, baseline_dict):
    baseline_dict["run"]["horizon_days"] = "a year"
    msg = load_error(write(tmp_path, baseline_dict))
    assert "run.horizon_days" in msg
    assert "a year" in msg


def test_wrong_type_in_a_list_item(tmp_path, baseline_dict):
    baseline_dict["units"][2]["handlers"] = "many"
    assert "units.2.handlers" in load_error(write(tmp_path, baseline_dict))


def test_negative_value(tmp_path, baseline_dict):
    baseline_dict["handling"]["effort_sigma"] = -0.5
    msg = load_error(write(tmp_path, baseline_dict))
    assert "handling.effort_sigma" in msg
    assert "-0.5" in msg


def test_negative_handlers(tmp_path, baseline_dict):
    baseline_dict["units"][7]["handlers"] = -1
    assert "units.7.handlers" in load_error(write(tmp_path, baseline_dict))


def test_probability_above_one(tmp_path, baseline_dict):
    baseline_dict["demand"]["urgent_share"] = 1.5
    msg = load_error(write(tmp_path, baseline_dict))
    assert "demand.urgent_share" in msg
    assert "1.5" in msg


def test_nested_probability_above_one(tmp_path, baseline_dict):
    baseline_dict["mechanisms"]["one_list"]["misroute_probability_listed"] = 2.0
    msg = load_error(write(tmp_path, baseline_dict))
    assert "mechanisms.one_list.misroute_probability_listed" in msg


def test_category_shares_not_summing_to_one(tmp_path, baseline_dict):
    baseline_dict["demand"]["category_shares"]["help"] = 0.8
    msg = load_error(write(tmp_path, baseline_dict))
    assert "demand.category_shares" in msg
    assert "sum to 1" in msg


def test_channel_shares_not_summing_to_one(tmp_path, baseline_dict):
    baseline_dict["demand"]["channel_shares"]["phone"] = 0.5
    msg = load_error(write(tmp_path, baseline_dict))
    assert "demand.channel_shares" in msg
    assert "sum to 1" in msg


def test_topic_shares_not_summing_to_one(tmp_path, baseline_dict):
    baseline_dict["topics"][0]["share"] += 0.1
    msg = load_error(write(tmp_path, baseline_dict))
    assert "topics" in msg
    assert "sum to 1" in msg


def test_topic_with_an_undefined_unit(tmp_path, baseline_dict):
    baseline_dict["topics"][4]["unit"] = "区不存在局"
    msg = load_error(write(tmp_path, baseline_dict))
    assert "topics.4.unit" in msg
    assert "区不存在局" in msg


def test_duplicate_unit_name(tmp_path, baseline_dict):
    baseline_dict["units"][1]["name"] = baseline_dict["units"][0]["name"]
    msg = load_error(write(tmp_path, baseline_dict))
    assert "units" in msg
    assert "duplicate" in msg


def test_office_hours_ending_before_they_start(tmp_path, baseline_dict):
    baseline_dict["calendar"]["office_hours"] = [[12.0, 8.5], [14.5, 17.5]]
    msg = load_error(write(tmp_path, baseline_dict))
    assert "calendar.office_hours" in msg
    assert "ends before it starts" in msg


def test_office_hours_overlapping(tmp_path, baseline_dict):
    baseline_dict["calendar"]["office_hours"] = [[8.5, 15.0], [14.5, 17.5]]
    assert "calendar.office_hours" in load_error(write(tmp_path, baseline_dict))


def test_start_outside_the_holiday_calendar(tmp_path, baseline_dict):
    baseline_dict["run"]["start"] = dt.date(2030, 1, 1)
    msg = load_error(write(tmp_path, baseline_dict))
    assert "run.start" in msg
    assert "2030" in msg


def test_horizon_running_past_the_holiday_calendar(tmp_path, baseline_dict):
    # starts inside the data, but the horizon plus the longest deadline leaves it
    baseline_dict["run"]["start"] = dt.date(2026, 6, 1)
    msg = load_error(write(tmp_path, baseline_dict))
    assert "run.horizon_days" in msg  # the start is fine; the horizon is too long
    assert "2027" in msg


def test_weekend_calendar_allows_any_year(tmp_path, baseline_dict):
    baseline_dict["run"]["start"] = dt.date(2030, 1, 1)
    baseline_dict["calendar"]["holidays"] = "weekends"
    scn = sim.load_scenario(write(tmp_path, baseline_dict, "ok.toml"))
    assert scn.run.start == dt.date(2030, 1, 1)


def test_expected_volume_over_max_orders(tmp_path, baseline_dict):
    baseline_dict["demand"]["max_orders"] = 1000
    msg = load_error(write(tmp_path, baseline_dict))
    assert "demand.annual_orders" in msg
    assert "max_orders" in msg


def test_max_orders_counts_surges(tmp_path, baseline_dict):
    # 1.01 x the volume fits without the surge; a doubled year does not
    annual = baseline_dict["demand"]["annual_orders"]
    baseline_dict["demand"]["max_orders"] = int(annual * 1.01)
    sim.load_scenario(write(tmp_path, baseline_dict, "fits.toml"))
    baseline_dict["demand"]["surges"] = [
        {"start": dt.date(2021, 1, 1), "end": dt.date(2021, 12, 31), "factor": 2.0}
    ]
    assert "max_orders" in load_error(write(tmp_path, baseline_dict))


def test_surge_ending_before_it_starts(tmp_path, baseline_dict):
    baseline_dict["demand"]["surges"] = [
        {"start": dt.date(2021, 8, 31), "end": dt.date(2021, 8, 1), "factor": 1.3}
    ]
    assert "demand.surges.0" in load_error(write(tmp_path, baseline_dict))


def test_missing_required_field(tmp_path, baseline_dict):
    del baseline_dict["callback"]["satisfaction"]["base"]
    msg = load_error(write(tmp_path, baseline_dict))
    assert "callback.satisfaction.base" in msg
    assert "missing" in msg


def test_wrong_schema_version(tmp_path, baseline_dict):
    baseline_dict["schema_version"] = 2
    assert "schema_version" in load_error(write(tmp_path, baseline_dict))


def test_toml_syntax_error(tmp_path, baseline_text):
    broken = baseline_text.replace("horizon_days = 365", "horizon_days = = 365", 1)
    assert broken != baseline_text
    path = tmp_path / "broken.toml"
    path.write_text(broken, encoding="utf-8")
    msg = load_error(path)
    assert "TOML syntax error" in msg
    assert "line" in msg


def test_missing_file(tmp_path):
    msg = load_error(tmp_path / "nowhere.toml")
    assert "no such file" in msg


def test_folder_instead_of_file(tmp_path):
    assert "folder" in load_error(tmp_path)


def test_several_errors_reported_as_one_line(tmp_path, baseline_dict):
    baseline_dict["demand"]["urgent_share"] = 1.5
    baseline_dict["handling"]["effort_sigma"] = -1.0
    msg = load_error(write(tmp_path, baseline_dict))
    assert "more" in msg


def test_extra_handlers_per_kind_is_the_same_as_editing_each_unit():
    """handling.extra_handlers.street = 1 runs exactly as one more handler written into each
    street unit (identical event logs); a cut that would leave a unit below 0 is refused,
    naming the field, the unit and the allowed values."""
    from sim.digest import log_digest

    path = Path(__file__).parent / "scenarios" / "load.toml"
    base = sim.load_scenario(path)
    streets = [i for i, u in enumerate(base.units) if u.kind == "street"]
    assert streets and len(streets) < len(base.units)
    lever = sim.load_scenario(path, overrides={"handling.extra_handlers.street": 1})
    edited = sim.load_scenario(
        path, overrides={f"units.{i}.handlers": base.units[i].handlers + 1 for i in streets})
    assert lever.unit_handlers() == edited.unit_handlers() != base.unit_handlers()
    a, b = sim.simulate(lever, seed=3), sim.simulate(edited, seed=3)
    assert log_digest(a.events, a.orders) == log_digest(b.events, b.orders)
    assert list(a.by_unit()["handlers"]) == edited.unit_handlers()
    fewest = min(u.handlers for u in base.units if u.kind == "street")
    with pytest.raises(sim.ScenarioError, match=rf"handling\.extra_handlers\.street: -{fewest + 1} leaves unit .* allowed >= -{fewest}"):
        sim.load_scenario(path, overrides={"handling.extra_handlers.street": -(fewest + 1)})
