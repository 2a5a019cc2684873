"""The ``hotline`` command: run, check, sweep, compare, calibrate, optimise, export, fit, schema,
forecast, plot, report, app.

Errors a user can fix (a bad scenario, a missing file, an unwritable folder) print one line
naming the file and the field, and exit with status 2: no traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
_DEFAULT_SHOWWARNING = warnings.showwarning
OPEN_BAND = "open_age_"  # runs-table columns of open orders per age band (sim.batch.runner)


class UserError(Exception):
    """An error the user can fix; printed as one line."""


def _parse_sets(items: Sequence[str] | None) -> dict[str, Any]:
    from sim.scenario import parse_value

    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise UserError(f"--set {item}: expected FIELD.PATH=VALUE, e.g. handling.scale=1.2")
        key, value = item.split("=", 1)
        if not key.strip():
            raise UserError(f"--set {item}: no field path before '=', e.g. handling.scale=1.2")
        out[key.strip()] = parse_value(value.strip())
    return out


def _seed(text: str) -> int:
    """argparse type for --seed: a non-negative integer (numpy refuses negative seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: expected an integer >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: seeds must be non-negative")
    return value


def parse_seeds(text: str) -> list[int]:
    """'1-20' or '1,3,5' or '7' → list of seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            if "-" in part:
                a, b = part.split("-", 1)
                lo, hi = int(a), int(b)
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise UserError(f"--seeds {text}: expected a range like 1-20 or a list like 1,2,5") from None
    if any(s < 0 for s in seeds):
        raise UserError(f"--seeds {text}: seeds must be non-negative")
    return seeds


def _check_writable(out: Path) -> None:
    """Fail before a long run, not after it, when the output folder cannot be written."""
    parent = out.parent if out.parent != Path("") else Path(".")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"--out {out}: {probe} is a file, not a folder")
    import os

    if not os.access(probe, os.W_OK):
        raise UserError(f"--out {out}: {probe} is not writable")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is a file")


# -- commands -----------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    import sim

    out = Path(args.out) if args.out else None
    if out is not None:
        _check_writable(out)
    scn = sim.load_scenario(args.scenario, overrides=_parse_sets(args.set))
    stream = None
    if args.stream:
        if out is None:
            raise UserError("--stream needs --out (the event log is streamed beside it)")
        out.parent.mkdir(parents=True, exist_ok=True)
        stream = out.with_name(f".{out.name}.events.partial.parquet")
    try:
        res = sim.simulate(scn, seed=args.seed, stream_to=str(stream) if stream else None)
        # the run folder first: a terminal that cannot print, or a closed pipe, loses nothing
        if out is not None:
            try:
                res.save(out)
            except OSError as e:
                raise UserError(
                    f"--out {out}: cannot write the run folder: {e.strerror or e}"
                ) from None
        _report_run(scn, args.seed, res)
        if out is not None:
            print(f"\nwrote {out}/ (scenario.toml, manifest.json, events.parquet, "
                  f"system_events.parquet, cases.parquet, orders.parquet, kpi_*.csv)")
    finally:
        if stream is not None:
            stream.unlink(missing_ok=True)
    return EXIT_OK


def _report_run(scn: Any, seed: int, res: Any) -> None:
    from sim.summary import annual_sentence, indicator_table, render

    k = res.kpis().iloc[0]
    print(f"# {scn.name}  seed {seed}  ({res.meta.get('wall_seconds', float('nan')):.1f} s)")
    print(annual_sentence(k, scn))
    print()
    print(render(indicator_table(k)))
    print()
    print("未办结工单账龄 open orders at the horizon by age (working days):")
    print(res.open_ages().T.to_string())


def cmd_check(args: argparse.Namespace) -> int:
    import pandas as pd

    import sim
    from sim.batch.design import variants_design
    from sim.batch.stats import mean_ci
    from sim.batch.study import run_study
    from sim.summary import format_value
    from sim.targets import default_targets_path, load_targets

    targets_path = Path(args.targets) if args.targets else default_targets_path(args.scenario)
    targets = load_targets(targets_path)
    seeds = parse_seeds(args.seeds)
    fixed = _parse_sets(args.set)
    scn = sim.load_scenario(args.scenario, overrides=fixed)
    print(f"# check {scn.name} against {targets_path}: {len(seeds)} replications")
    study = run_study(scn, variants_design({}, {}), seeds, scenario_path=args.scenario,
                      executor=args.executor, jobs=args.jobs, scheduler=args.scheduler,
                      targets=targets, kind="check")
    runs = study.runs[study.runs["status"] == "ok"].set_index("seed")
    lines = []
    failed = 0
    for key, target in targets.targets.items():
        mean, lo, hi = mean_ci(runs[key].to_numpy())
        ok = target.passes(mean)
        failed += not ok
        lines.append(
            {
                "indicator": key,
                "kind": target.kind,
                "target": target.describe(),
                "mean": format_value(key, mean),
                "95% CI": f"[{format_value(key, lo)}, {format_value(key, hi)}]",
                "result": "PASS" if ok else "FAIL",
            }
        )
    print(pd.DataFrame(lines).to_string(index=False))
    # only the age bands (order counts): open_age_mean_wd / _p90_wd are ages, not counts
    from sim.kpi import INDICATORS

    bands = [c for c in runs.columns if c.startswith(OPEN_BAND) and c not in INDICATORS]
    ages = runs[bands].mean()
    print("\n未办结工单账龄 open orders at the horizon by age (working days), mean over seeds:")
    print(ages.rename(lambda c: c.removeprefix(OPEN_BAND)).round(1).to_frame("open_orders").T.to_string())
    _report_failed_runs(study)
    print(f"\n{len(lines) - failed} passed, {failed} failed")
    return EXIT_FAIL if failed or study.failed else EXIT_OK


# -- batch studies: sweep, compare ------------------------------------------------------------------
def _report_failed_runs(study: Any) -> None:
    if study.failed:
        first = study.runs[study.runs["status"] != "ok"].iloc[0]
        print(
            f"\n{study.failed} of {len(study.runs)} runs failed (first: {first['point']} seed "
            f"{first['seed']}: {first['error']}); see the error column of runs.parquet",
            file=sys.stderr,
        )


@contextlib.contextmanager
def _resumable(out: str | None, what: str = "runs", where: str = ".runs"):
    """Ctrl-C in a study: the finished runs are kept in the store; say how to resume."""
    try:
        yield
    except KeyboardInterrupt:
        if out:
            print(f"hotline: interrupted; finished {what} are kept in {out}/{where}: run the same "
                  f"command again to resume", file=sys.stderr)
            raise SystemExit(130) from None
        raise


def _study_args(args: argparse.Namespace) -> dict[str, Any]:
    if args.out:
        _check_writable(Path(args.out))
    return {
        "seeds": parse_seeds(args.seeds),
        "overrides": _parse_sets(args.set),
        "executor": args.executor,
        "jobs": args.jobs,
        "scheduler": args.scheduler,
        "out": args.out,
        "overwrite": args.overwrite,
        "keep_logs": args.keep_logs,
        "targets": args.targets,
    }


def _parse_ranges(items: Sequence[str] | None) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for item in items or []:
        key, _, text = item.partition("=")
        lo, sep, hi = text.partition(":")
        try:
            if not key.strip() or not sep:
                raise ValueError
            out[key.strip()] = (float(lo), float(hi))
        except ValueError:
            raise UserError(f"--range {item}: expected FIELD.PATH=LO:HI, e.g. handling.scale=0.8:1.3") from None
    return out


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.batch.design import parse_grid
    from sim.batch.study import sweep

    with _resumable(args.out):
        study = sweep(
            args.scenario, grid=parse_grid(args.grid or []), ranges=_parse_ranges(args.range),
            lhs=args.lhs, sobol=args.sobol, morris=args.morris, design_seed=args.design_seed,
            **_study_args(args),
        )
    _print_study(study)
    return EXIT_FAIL if study.failed else EXIT_OK


def _parse_variants(items: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    from sim.scenario import parse_value

    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        name, _, assignment = item.partition("=")
        path, eq, value = assignment.partition("=")
        if not name.strip() or not eq or not path.strip():
            raise UserError(
                f"--variant {item}: expected NAME=FIELD.PATH=VALUE, e.g. "
                f"no_team=mechanisms.one_team.enabled=false"
            )
        out.setdefault(name.strip(), {})[path.strip()] = parse_value(value.strip())
    return out


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.batch.study import compare

    ablate = [a.strip() for a in args.ablate.split(",")] if args.ablate else None
    with _resumable(args.out):
        study = compare(args.scenario, variants=_parse_variants(args.variant),
                        against=args.against, ablate=ablate, **_study_args(args))
    _print_study(study, all_indicators=args.all_indicators)
    return EXIT_FAIL if study.failed else EXIT_OK


HEADLINE = ("received", "closure_rate", "on_time_reply_rate", "satisfaction", "ttc_mean_wd",
            "backlog_mean", "handler_hours")


def _headline(study: Any) -> list[str]:
    """The indicators printed: the headline ones and those with a target."""
    targets = (study.manifest.get("targets") or {}).get("targets", {})
    return list(dict.fromkeys([*HEADLINE, *targets]))


def _print_study(study: Any, all_indicators: bool = False) -> None:

    import pandas as pd

    from sim.batch.ablation import COSTS, OUTCOMES, ablation_table, is_ablation
    from sim.summary import effects_for_people, format_value

    m = study.manifest
    print(
        f"# {m['kind']} of {m['scenario'] or 'scenario'}: {len(study.runs)} runs "
        f"({study.computed} run now, {study.reused} reused) on {m['workers']} worker(s) "
        f"[{m['executor']}] in {study.wall_seconds:.1f} s"
    )
    if study.effects is not None and is_ablation(study.effects["variant"]):
        # the issue-13 table: mechanism x indicator (outcomes, then costs), paired 95 % CIs
        with pd.option_context("display.width", 10_000, "display.max_columns", None,
                               "display.max_colwidth", None):
            for cols in (OUTCOMES, COSTS):
                print(ablation_table(study.effects, cols).to_string(index=False))
        print("cell: difference to the baseline [paired 95 % CI], * where the CI excludes zero; "
              "rates in percentage points (pp), days are working days; "
              "every indicator: effects.csv")
    elif study.effects is not None:
        e = study.effects.dropna(subset=["diff"])
        if not all_indicators:
            e = e[e["indicator"].isin(_headline(study))]
        table = effects_for_people(e)
        print(table.to_string(index=False))
        print("* the 95 % CI of the paired difference (same seeds) excludes zero; "
              "rate differences in percentage points (pp)")
        if not all_indicators:
            where = f"{study.out}/effects.csv" if study.out is not None else "--all-indicators"
            print(f"headline indicators only; every indicator: {where}")
    else:
        s = study.summary
        keys = [k for k in ("closure_rate", "on_time_reply_rate", "satisfaction", "ttc_mean_wd",
                            "backlog_mean") if k in set(s["indicator"])]
        s = s[s["indicator"].isin(keys)]
        params = [c for c in s.columns if c not in ("point", "indicator", "n", "mean", "std",
                                                     "ci_half", "target", "target_share")]
        s = s.assign(value=[f"{format_value(i, v)} ± {format_value(i, h)}"
                            for i, v, h in zip(s["indicator"], s["mean"], s["ci_half"], strict=True)])
        wide = s.pivot(index=["point", *params], columns="indicator", values="value")[keys]
        print(wide.reset_index().to_string(index=False))
        print("mean ± 95 % CI half-width over seeds")
        if study.sensitivity is not None and len(study.sensitivity):
            sens = study.sensitivity[study.sensitivity["indicator"].isin(keys)]
            cols = (["S1", "S1_conf", "ST", "ST_conf"] if m["design"]["method"] == "sobol"
                    else ["mu_star", "mu_star_conf", "sigma"])
            print(sens[["indicator", "parameter", *cols]].round(4).to_string(index=False))
    _report_failed_runs(study)
    if study.out is not None:
        files = sorted(p.name for p in study.out.iterdir() if not p.name.startswith("."))
        print(f"wrote {study.out}/ ({', '.join(files)})")


# -- calibration and optimisation ------------------------------------------------------------------
def _parse_weights(items: Sequence[str] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        try:
            if not eq or not key.strip():
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError:
            raise UserError(f"--weight {item}: expected INDICATOR=WEIGHT, e.g. satisfaction=2") from None
    return out


def _search_args(args: argparse.Namespace) -> dict[str, Any]:
    if args.budget < 1:  # before anything is read or run
        raise UserError(f"--budget {args.budget}: give a number of candidates >= 1")
    _check_writable(Path(args.out))
    return {
        "targets": args.targets,
        "free": args.free or [],
        "seeds": parse_seeds(args.seeds),
        "budget": args.budget,
        "out": args.out,
        "holdout_seeds": parse_seeds(args.holdout_seeds) if args.holdout_seeds else None,
        "executor": args.executor,
        "jobs": args.jobs,
        "scheduler": args.scheduler,
        "overwrite": args.overwrite,
        "sampler_seed": args.sampler_seed,
        "lang": args.lang,
    }


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sim.calibrate.study import calibrate

    kw = _search_args(args)
    with _resumable(args.out, what="trials", where="journal.log"):
        result = calibrate(args.scenario, weights=_parse_weights(args.weight), **kw)
    _print_search(result)
    return EXIT_OK if result.passed else EXIT_FAIL


def cmd_optimise(args: argparse.Namespace) -> int:
    from sim.calibrate.study import optimise

    kw = _search_args(args)
    with _resumable(args.out, what="trials", where="journal.log"):
        result = optimise(args.scenario, minimise=args.minimise, **kw)
    _print_search(result)
    return EXIT_OK if result.passed else EXIT_FAIL


def _print_search(r: Any) -> None:
    import pandas as pd

    from sim.summary import format_value

    print(f"# {r.mode}: {len(r.trials)} trials in {r.out}/journal.log ({r.finished_before} finished "
          f"before, {r.evaluated} evaluated now; {r.computed_runs} runs computed, {r.reused_runs} "
          f"reused) in {r.wall_seconds:.1f} s")
    print("chosen: " + ", ".join(f"{k} = {v}" for k, v in r.best.items()))
    if r.identifiability is not None and len(r.identifiability):
        t = r.identifiability
        print("\nidentifiability (range of the trials where " + str(t["rule"].iloc[0]) + "):")
        print(pd.DataFrame({
            "parameter": t["parameter"], "bounds": [f"{a:g}..{b:g}" for a, b in zip(t["lo"], t["hi"], strict=True)],
            "best": t["best"].map(lambda v: f"{v:.4g}"),
            "range": [f"{a:.4g}..{b:.4g}" for a, b in zip(t["range_low"], t["range_high"], strict=True)],
            "share": t["share_of_bounds"].map(lambda v: f"{v:.0%}"), "verdict": t["verdict"],
        }).to_string(index=False))
    if r.pareto is not None and len(r.pareto):
        print("\ncost-target trade-off (Pareto front: cost against the weakest target margin):")
        front = r.pareto.drop(columns=["failing", "uncertain"]).assign(
            uncertain=[len([u for u in str(x).split(",") if u]) for x in r.pareto["uncertain"]])
        print(front.rename(columns={"uncertain": "targets uncertain"}).round(4).to_string(index=False))
        print("uncertain: targets whose 95 % CI straddles a bound (pareto.csv names them)")
    h = r.holdout
    print(f"\nhold-out check on fresh seeds {h['seeds'].iloc[0]}:")
    print(pd.DataFrame({
        "indicator": h["indicator"], "kind": h["kind"], "target": h["target"],
        "mean": [format_value(i, v) for i, v in zip(h["indicator"], h["mean"], strict=True)],
        "95% CI": [f"[{format_value(i, a)}, {format_value(i, b)}]"
                   for i, a, b in zip(h["indicator"], h["ci_low"], h["ci_high"], strict=True)],
        "result": h["result"],
    }).to_string(index=False))
    failed = int((h["result"] != "PASS").sum())
    print(f"\n{len(h) - failed} passed, {failed} failed on the hold-out seeds"
          + ("" if r.passed else ": the search FAILED (exit code 1)"))
    print(f"wrote {r.out}/ ({', '.join(r.files)})")


def cmd_export(args: argparse.Namespace) -> int:
    from sim.export import ExportError, export

    folder = Path(args.run)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    try:
        path, n = export(folder, args.format, args.out)
    except ExportError as e:
        raise UserError(str(e)) from None
    print(f"wrote {path} ({n:,} rows)")
    return EXIT_OK


def cmd_fit(args: argparse.Namespace) -> int:
    from sim.fit import FitError, fit

    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise UserError(f"--out {out}: is a folder; give the scenario file, e.g. scenarios/my_district.toml")
        _check_writable(out.parent / ".fit-probe" if out.parent != Path("") else Path(".fit-probe"))
    if args.handlers is not None and args.handlers < 1:
        raise UserError(f"--handlers {args.handlers}: allowed 1 or more handlers per unit")
    if args.refine < 0:
        raise UserError(f"--refine {args.refine}: allowed 0 or more simulation rounds")
    try:
        res = fit(args.export, out=args.out, mapping=args.mapping, year=args.year,
                  name=args.name, refine=args.refine, seed=args.seed, handlers=args.handlers)
    except FitError as e:
        raise UserError(str(e)) from None
    exp = res.export
    t = exp.table
    print(f"# fit {args.export}: {exp.rows_read:,} rows read, {len(t):,} fitted "
          f"({t['created'].min():%Y-%m-%d} to {t['created'].max():%Y-%m-%d}; "
          f"{len(res.scenario['units'])} units, {len(res.scenario['topics'])} topics)")
    for p in exp.problems:
        print(f"  {p.what}: {len(p.rows)} rows ({p.action}; first at line {p.rows[0]})")
    for note in exp.notes:
        print(f"  {note}")
    if res.scenario_path:
        print(f"wrote {res.scenario_path}, {res.targets_path}, {res.report_path}")
    else:
        print(res.report)
    return EXIT_OK


def cmd_forecast(args: argparse.Namespace) -> int:
    """Warm-started runs from the orders open at a date (docs/forecast.md)."""
    import sim
    from sim.forecast.command import open_orders_from, parse_date, print_summary
    from sim.forecast.output import write_forecast
    from sim.forecast.run import (
        LEVEL,
        ForecastInputError,
        check_open_orders,
        prediction_coverage,
        run_forecast,
    )
    from sim.plots.forecast import forecast_charts

    out = Path(args.out)
    _check_writable(out)
    scn = sim.load_scenario(args.scenario)
    if args.days < 1 or args.days > 366:
        raise UserError(f"--days {args.days}: expected 1 to 366 calendar days")
    seeds = parse_seeds(args.seeds)
    variants = {item: _parse_sets([item]) for item in args.set or []}
    try:
        start = parse_date(args.start, "--from") if args.start else None
        table, start, problems, source, state = open_orders_from(args.open, start, scn)
        table, more = check_open_orders(table, scn)
        problems += more
        for line in problems:
            print(f"hotline: warning: --open: {line}; left out", file=sys.stderr)
        results = run_forecast(scn, table, start, args.days, seeds, variants, state)
    except ForecastInputError as e:
        raise UserError(str(e)) from None
    manifest = {"scenario": scn.name, "seeds": args.seeds, "from": str(start), "days": args.days,
                "open": source, "carried_in": len(table), "left_out": len(problems),
                "mechanism_state": "fresh" if state is None else "carried in",
                "variants": {"base": {}, **variants}}
    tables = write_forecast(out, results, start, [u.name for u in scn.units], table, manifest)
    forecast_charts(tables["daily"], tables["units"], out, manifest)
    print_summary(tables, len(table), start, args.days, out)
    k = len(seeds)
    if prediction_coverage(k) < LEVEL:  # below 19 seeds min..max covers less than 90 %
        cover = ("no band (one seed)" if k < 2 else
                 f"min..max, which covers the next run with probability {prediction_coverage(k):.0%}")
        print(f"hotline: note: --seeds: with {k} seed(s) the '90 %' band is {cover}; "
              f"19 seeds or more give a 90 % prediction band", file=sys.stderr)
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.reference import reference_markdown

    text = reference_markdown()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_plot(args: argparse.Namespace) -> int:
    from sim.plots import FolderError, plot_folder

    try:
        written = plot_folder(args.folder, lang=args.lang, targets=args.targets, jobs=args.jobs)
    except (FolderError, ValueError) as e:
        raise UserError(str(e)) from None
    charts = sorted({p.stem for p in written if p.suffix == ".png"})
    print(f"wrote {Path(args.folder) / 'charts'}/ ({', '.join(charts)}; .png and .svg)")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from sim.plots import FolderError
    from sim.report import build_report

    try:
        path = build_report(args.folder, lang=args.lang, targets=args.targets)
    except FolderError as e:
        raise UserError(str(e)) from None
    print(f"wrote {path}")
    return EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    import os

    import sim
    from sim.app.launch import streamlit_command, streamlit_installed

    sim.load_scenario(args.scenario)  # a bad scenario stops here, with its one-line message
    if args.port is not None and not 1 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: give a port number 1-65535")
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs {args.jobs}: give a number of workers >= 1")
    if not streamlit_installed():
        raise UserError("hotline app: Streamlit is not installed; install the extra: "
                        "pip install -e '.[app]'")
    _check_writable(Path(args.cache))
    cmd = streamlit_command(args.scenario, args.host, args.port or 8501, args.cache, args.jobs or 0)
    print(f"hotline app: http://{args.host}:{args.port or 8501} (Ctrl-C stops it)", file=sys.stderr)
    sys.stderr.flush()
    # Streamlit takes this process's place: its process id is the server's, so whoever
    # started `hotline app` can stop the server by that id
    os.execv(cmd[0], cmd)
    return EXIT_OK  # pragma: no cover - execv does not return


def _progress(desc: str):
    def wrap(it, total):
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return it
        return tqdm(it, total=total, desc=desc, file=sys.stderr, disable=not sys.stderr.isatty())

    return wrap


# -- parser -------------------------------------------------------------------------------------
def _executor_args(p: argparse.ArgumentParser, workers_alias: bool = False) -> None:
    names = ["--jobs", "--workers"] if workers_alias else ["--jobs"]
    p.add_argument(*names, dest="jobs", type=int, default=None,
                   help="number of workers (default: all cores)")
    p.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes",
                   help="where runs execute (default processes)")
    p.add_argument("--scheduler", metavar="tcp://HOST:8786",
                   help="Dask scheduler address (default: start a local cluster)")


def _study_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", metavar="PATH=VALUE", help="fixed override, every run")
    p.add_argument("--out", help="study folder (resumable): runs.parquet, summary.csv, ...")
    p.add_argument("--overwrite", action="store_true", help="replace a different study in --out")
    p.add_argument("--keep-logs", action="store_true", help="also save each run's folder under --out/logs")
    p.add_argument("--targets", help="targets TOML (default: <scenario>.targets.toml if present)")
    _executor_args(p)


class _Parser(argparse.ArgumentParser):
    """argparse with the project's rule for bad input: one line naming the flag, the value
    and what is allowed, exit code 2 (argparse would print the whole usage before it; the
    usage stays with --help).  The subcommands' parsers are of this class too."""

    _KINDS = {"int": "an integer", "float": "a number"}

    def error(self, message: str) -> NoReturn:
        m = re.fullmatch(r"(argument [^:]+): invalid (int|float) value: (.*)", message)
        if m:
            message = f"{m[1]}: invalid value {m[3]}: expected {self._KINDS[m[2]]}"
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="hotline",
        description="Simulate a 12345 hotline's work orders (Yuelu District's 六个一 mechanism).",
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one scenario once and print its indicators")
    run.add_argument("scenario", help="scenario TOML file, e.g. scenarios/yuelu_2021.toml")
    run.add_argument("--seed", type=_seed, default=1, help="random seed (default 1)")
    run.add_argument("--out", help="write the run folder here (e.g. results/baseline)")
    run.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a field, repeatable")
    run.add_argument(
        "--stream", action="store_true",
        help="write the event log to Parquet as the run goes (bounded memory; needs --out)",
    )
    run.set_defaults(fn=cmd_run)

    check = sub.add_parser("check", help="run replications and compare with the targets")
    check.add_argument("scenario")
    check.add_argument("--targets", help="targets TOML (default: <scenario>.targets.toml beside it)")
    check.add_argument("--seeds", default="1-20", help="seeds, e.g. 1-20 (default) or 1,2,3")
    check.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a field")
    _executor_args(check, workers_alias=True)
    check.set_defaults(fn=cmd_check)

    sweep = sub.add_parser("sweep", help="sweep parameters: a grid, or LHS/Sobol/Morris over ranges")
    sweep.add_argument("scenario")
    sweep.add_argument("--grid", action="append", metavar="PATH=V1,V2,...",
                       help="values of one swept field (TOML values, split at top-level commas)")
    sweep.add_argument("--range", action="append", metavar="PATH=LO:HI",
                       help="range of one field for --lhs/--sobol/--morris (integer fields floored)")
    design = sweep.add_mutually_exclusive_group()
    design.add_argument("--lhs", type=int, metavar="N", help="Latin hypercube of N points")
    design.add_argument("--sobol", type=int, metavar="N", help="Saltelli design, N a power of two")
    design.add_argument("--morris", type=int, metavar="R", help="Morris design of R trajectories")
    sweep.add_argument("--design-seed", type=_seed, default=1, help="seed of the design (default 1)")
    sweep.add_argument("--seeds", default="1", help="replication seeds at every point (default 1)")
    _study_flags(sweep)
    sweep.set_defaults(fn=cmd_sweep)

    cmp_ = sub.add_parser("compare", help="variants against the base on common seeds (paired CIs)")
    cmp_.add_argument("scenario")
    cmp_.add_argument("--variant", action="append", metavar="NAME=PATH=VALUE",
                      help="a variant's override (repeat a NAME for several overrides)")
    cmp_.add_argument("--against", action="append", metavar="SCENARIO.toml",
                      help="another scenario file as a variant (named by its file stem)")
    cmp_.add_argument("--ablate", metavar="all|NAME,...",
                      help="each enabled 六个一 mechanism off alone, then all off")
    cmp_.add_argument("--seeds", default="1-20", help="seeds shared by every variant (default 1-20)")
    cmp_.add_argument("--all-indicators", action="store_true",
                      help="print every indicator (effects.csv always has them all)")
    _study_flags(cmp_)
    cmp_.set_defaults(fn=cmd_compare)

    for name, fn, what in (
        ("calibrate", cmd_calibrate, "fit free fields to the targets (Optuna, common seeds, hold-out check)"),
        ("optimise", cmd_optimise, "cheapest free settings that meet every target (Pareto front, hold-out)"),
    ):
        c = sub.add_parser(name, help=what)
        c.add_argument("scenario")
        c.add_argument("--targets", help="targets TOML (default: <scenario>.targets.toml beside it)")
        c.add_argument("--free", action="append", metavar="PATH=LO:HI", required=True,
                       help="a numeric field to search between LO and HI (integer fields: integers)")
        if name == "optimise":
            c.add_argument("--minimise", "--minimize", dest="minimise", required=True,
                           metavar="[W*]NAME+...",
                           help="cost to minimise: indicators, supervision_actions or --free fields, "
                           "e.g. handler_hours+supervision_actions")
        else:
            c.add_argument("--weight", action="append", metavar="INDICATOR=W",
                           help="weight of a target in the objective (default 1)")
        c.add_argument("--seeds", default="1-10", help="seeds every candidate runs (default 1-10)")
        c.add_argument("--holdout-seeds", metavar="SEEDS",
                       help="fresh seeds of the final check (default: as many, after --seeds)")
        c.add_argument("--budget", type=int, default=200 if name == "calibrate" else 150,
                       help="candidates to evaluate (trials); a larger budget continues a search")
        c.add_argument("--out", required=True,
                       help="output folder; its journal.log makes the same command resume")
        c.add_argument("--overwrite", action="store_true", help="replace a different search in --out")
        c.add_argument("--sampler-seed", type=_seed, default=1, help="seed of the TPE sampler (default 1)")
        c.add_argument("--lang", choices=("zh", "en", "both"), default="both", help="chart labels")
        _executor_args(c)
        c.set_defaults(fn=fn)

    exp = sub.add_parser("export", help="write a run folder's log or orders for other tools")
    exp.add_argument("run", help="run folder written by `hotline run --out`")
    exp.add_argument(
        "--format", required=True, choices=["csv", "xes", "orders-csv", "orders-xlsx"],
        help="csv: event log for Disco/Excel; xes: for ProM/pm4py; orders-csv/orders-xlsx: "
        "one row per order in the orders export format (docs/orders-export-format.md)",
    )
    exp.add_argument("--out", help="file to write (default: inside the run folder)")
    exp.set_defaults(fn=cmd_export)

    fit = sub.add_parser("fit", help="fit a scenario to a district's work-order export (docs/fit.md)")
    fit.add_argument("export", help="the export: .csv (UTF-8 or GBK), .xlsx or .parquet")
    fit.add_argument("--out", help="scenario TOML to write (targets and fit_report.md beside it); "
                     "default: print the report only")
    fit.add_argument("--mapping", help="mapping TOML: column names, categories, calendar, time zone "
                     "(e.g. mappings/nyc311.toml)")
    fit.add_argument("--year", type=int, help="fit this calendar year's orders only")
    fit.add_argument("--name", help="scenario name (default: the --out file's stem)")
    fit.add_argument("--refine", type=int, default=2,
                     help="simulation rounds that correct the outside waits (default 2; 0: none)")
    fit.add_argument("--seed", type=_seed, default=1, help="seed of the refinement runs (default 1)")
    fit.add_argument("--handlers", type=int, metavar="N",
                     help="handlers of every unit (default: inferred from congestion where the "
                     "export has the start of handling and shows it, else a headcount column, "
                     "else sized to ~70 %% busy)")
    fit.set_defaults(fn=cmd_fit)

    schema = sub.add_parser("schema", help="print the scenario field reference (Markdown)")
    schema.add_argument("--out", help="write it to this file instead")
    schema.set_defaults(fn=cmd_schema)
    fc = sub.add_parser("forecast", help="forecast the next days from the orders open at a date (docs/forecast.md)")
    fc.add_argument("scenario", help="scenario TOML (its demand, units and rules from --from on)")
    fc.add_argument("--open", required=True, metavar="RUN_FOLDER@DATE|FILE",
                    help="the open orders: a run folder's snapshot at a date, or an export "
                    "(.csv/.xlsx) in the orders export format")
    fc.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day of the forecast")
    fc.add_argument("--days", type=int, default=30, help="calendar days to forecast (default 30)")
    fc.add_argument("--seeds", default="1-30", help="seeds (default 1-30)")
    fc.add_argument("--set", action="append", metavar="PATH=VALUE",
                    help="a variant compared with the base on the same seeds (repeatable: one variant each)")
    fc.add_argument("--out", required=True, help="forecast folder to write")
    fc.set_defaults(fn=cmd_forecast)
    for name, fn, what in (
        ("plot", cmd_plot, "draw the charts of a run, sweep or comparison folder into FOLDER/charts/"),
        ("report", cmd_report, "write FOLDER/report.html, one self-contained file with the charts"),
    ):
        cmd = sub.add_parser(name, help=what)
        cmd.add_argument("folder", help="a run folder (hotline run --out), a sweep or a comparison folder")
        cmd.add_argument("--lang", choices=("zh", "en", "both"), default="both", help="label language (default both)")
        cmd.add_argument("--targets", help="targets TOML (default: FOLDER/targets.toml or scenarios/<scenario>.targets.toml)")
        if name == "plot":
            cmd.add_argument("--jobs", type=int, default=None,
                             help="processes drawing a run's charts (default: the cores, at most 4)")
        cmd.set_defaults(fn=fn)
    app = sub.add_parser("app", help="the what-if page in a browser (Streamlit; extra .[app]; docs/app.md)")
    app.add_argument("scenario", help="scenario TOML whose levers the page shows")
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1: this machine only)")
    app.add_argument("--port", type=int, default=None, help="port (default 8501)")
    app.add_argument("--cache", default="results/app",
                     help="folder of cached results (default results/app)")
    app.add_argument("--jobs", type=int, default=None,
                     help="worker processes per what-if (default: one per usable core)")
    app.set_defaults(fn=cmd_app)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our warnings as one line on stderr (no file and line of the code)."""
    from sim.scenario import ScenarioWarning

    if issubclass(category, ScenarioWarning):
        print(f"hotline: warning: {message}", file=sys.stderr)
    else:
        _DEFAULT_SHOWWARNING(message, category, filename, lineno, file, line)


def main(argv: Sequence[str] | None = None) -> int:
    from sim.scenario import ScenarioError

    if hasattr(sys.stderr, "reconfigure"):  # an error message must never fail to print
        sys.stderr.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return args.fn(args)
    except UnicodeEncodeError as e:
        print(
            f"hotline: error: this terminal cannot print {e.object[e.start:e.end]!r} "
            f"(its encoding is {e.encoding}); set PYTHONIOENCODING=utf-8 or a UTF-8 locale "
            f"(any run folder was written before printing)",
            file=sys.stderr,
        )
        return EXIT_FAIL
    except (ScenarioError, UserError) as e:
        print(f"hotline: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        sys.stderr.close()
        return EXIT_FAIL
    except OSError as e:
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        print(f"hotline: error:{where} {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("hotline: interrupted; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
