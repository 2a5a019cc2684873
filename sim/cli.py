"""The ``hotline`` command: run, check, schema.

Errors a user can fix (a bad scenario, a missing file, an unwritable folder) print one line
naming the file and the field, and exit with status 2: no traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
_DEFAULT_SHOWWARNING = warnings.showwarning
OPEN_BAND = "open_band_"  # replication columns holding open orders per age band


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


def _one_replication(job: tuple[Any, int]) -> dict[str, float]:
    import sim

    scn, seed = job
    res = sim.simulate(scn, seed=seed)
    row = res.kpis().iloc[0].to_dict()
    row["seed"] = seed
    for band, n in res.open_ages()["open_orders"].items():
        row[f"{OPEN_BAND}{band}"] = n
    return row


def cmd_check(args: argparse.Namespace) -> int:
    import pandas as pd

    import sim
    from sim.batch.executors import default_workers, run_all
    from sim.batch.stats import mean_ci
    from sim.summary import format_value
    from sim.targets import default_targets_path, load_targets

    targets_path = Path(args.targets) if args.targets else default_targets_path(args.scenario)
    targets = load_targets(targets_path)
    seeds = parse_seeds(args.seeds)
    scn = sim.load_scenario(args.scenario, overrides=_parse_sets(args.set))
    workers = args.workers or default_workers()
    print(f"# check {scn.name} against {targets_path}: {len(seeds)} replications on {workers} workers")
    rows = run_all(_one_replication, [(scn, s) for s in seeds], workers, _progress("replications"))
    runs = pd.DataFrame(rows).set_index("seed")
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
    ages = runs[[c for c in runs.columns if c.startswith(OPEN_BAND)]].mean()
    print("\n未办结工单账龄 open orders at the horizon by age (working days), mean over seeds:")
    print(ages.rename(lambda c: c.removeprefix(OPEN_BAND)).round(1).to_frame("open_orders").T.to_string())
    print(f"\n{len(lines) - failed} passed, {failed} failed")
    return EXIT_FAIL if failed else EXIT_OK


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


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.reference import reference_markdown

    text = reference_markdown()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _progress(desc: str):
    def wrap(it, total):
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return it
        return tqdm(it, total=total, desc=desc, file=sys.stderr, disable=not sys.stderr.isatty())

    return wrap


# -- parser -------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
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
    check.add_argument("--workers", type=int, default=0, help="processes (default: all cores)")
    check.add_argument("--set", action="append", metavar="PATH=VALUE", help="override a field")
    check.set_defaults(fn=cmd_check)

    exp = sub.add_parser("export", help="write a run folder's log or orders for other tools")
    exp.add_argument("run", help="run folder written by `hotline run --out`")
    exp.add_argument(
        "--format", required=True, choices=["csv", "xes", "orders-csv", "orders-xlsx"],
        help="csv: event log for Disco/Excel; xes: for ProM/pm4py; orders-csv/orders-xlsx: "
        "one row per order in the orders export format (docs/orders-export-format.md)",
    )
    exp.add_argument("--out", help="file to write (default: inside the run folder)")
    exp.set_defaults(fn=cmd_export)

    schema = sub.add_parser("schema", help="print the scenario field reference (Markdown)")
    schema.add_argument("--out", help="write it to this file instead")
    schema.set_defaults(fn=cmd_schema)
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
