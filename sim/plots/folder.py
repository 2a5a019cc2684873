"""``hotline plot FOLDER``: every chart of a run, sweep or comparison folder, written to
``FOLDER/charts/NAME.png`` and ``.svg``.

Each file is written beside its final name and renamed into place, so an interrupted plot
never leaves a truncated chart.
"""

from __future__ import annotations

import functools
import json
import multiprocessing as mp
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.plots.style import Source, resolve_lang, source_of_manifest

CHARTS = "charts"
STAMP = "charts.json"  # what the charts were drawn from (lets the report reuse them)


class FolderError(ValueError):
    """A folder that is not a run, sweep or comparison folder, or misses a file."""


def folder_kind(folder: str | Path) -> str:
    """'run', 'sweep' or 'compare'; FolderError naming the folder otherwise."""
    f = Path(folder)
    if not f.is_dir():
        raise FolderError(f"{f}: no such folder")
    if (f / "effects.csv").is_file():
        return "compare"
    if (f / "runs.parquet").is_file():
        return "sweep"
    if (f / "manifest.json").is_file() and (f / "events.parquet").is_file():
        return "run"
    raise FolderError(
        f"{f}: not a run folder (manifest.json + events.parquet), a sweep folder (runs.parquet) "
        "or a comparison folder (effects.csv)"
    )


def read_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def study_source(folder: Path, runs: pd.DataFrame | None) -> Source:
    seeds = "?"
    if runs is not None and "seed" in runs:
        values = sorted(int(s) for s in runs["seed"].dropna().unique())
        if values:
            contiguous = values == list(range(values[0], values[-1] + 1))
            seeds = f"{values[0]}-{values[-1]}" if contiguous and len(values) > 1 else ",".join(map(str, values))
    return source_of_manifest(read_manifest(folder), seeds=seeds)


def find_targets(folder: Path, scenario_name: str, explicit: str | Path | None = None):
    """The targets to draw and check: ``explicit``, else ``FOLDER/targets.toml``, else
    ``scenarios/<scenario>.targets.toml`` under the working folder; None when there is none."""
    from sim.targets import load_targets

    for path in ([Path(explicit)] if explicit else [folder / "targets.toml",
                                                      Path("scenarios") / f"{scenario_name}.targets.toml"]):
        if path.is_file():
            return load_targets(path), path
    if explicit:
        raise FolderError(f"--targets {explicit}: no such file")
    return None, None


def run_chart_makers(folder: Path, lang: str, targets_path: str | Path | None = None,
                     res=None) -> list[tuple[str, Callable[[], Figure]]]:
    """(name, make) for each chart of a run folder, in reading order: ``make()`` draws the
    chart and returns its Figure (so charts can be drawn apart, in worker processes)."""
    from sim.plots.cohorts import cohorts
    from sim.plots.run import run_charts
    from sim.plots.style import source_of
    from sim.plots.utilisation import utilisation
    from sim.result import Result

    res = res if res is not None else Result.load(folder)
    targets, _ = find_targets(folder, res.scenario.name, targets_path)
    source = source_of(res)
    # the year and unit tables the run folder holds (written from the same log by
    # Result.save): reading them saves recomputing per-unit rates, slow for a city's log
    annual = units = None
    if (folder / "kpi_year.csv").is_file():
        annual = pd.read_csv(folder / "kpi_year.csv", encoding="utf-8-sig", index_col=0).iloc[0]
    if (folder / "kpi_unit.csv").is_file():
        units = pd.read_csv(folder / "kpi_unit.csv", encoding="utf-8-sig", index_col=0)
    makers = []
    for name, fn in run_charts().items():
        kwargs = {"lang": lang, "source": source}
        if fn is cohorts:
            kwargs |= {"targets": targets, "annual": annual}
        elif fn is utilisation:
            kwargs |= {"units": units, "annual": annual}
        makers.append((name, functools.partial(fn, res, **kwargs)))
    return makers


def run_figures(folder: Path, lang: str, targets_path: str | Path | None = None,
                res=None) -> Iterator[tuple[str, Figure]]:
    """(name, figure) for each chart of a run folder, in reading order."""
    for name, make in run_chart_makers(folder, lang, targets_path, res):
        yield name, make()


def study_figures(folder: Path, kind: str, lang: str,
                  targets_path: str | Path | None = None) -> Iterator[tuple[str, Figure]]:
    """(name, figure) for each chart of a sweep or comparison folder; then, when the study
    kept its runs' logs (``--keep-logs``), the monthly, cohort and daily charts of each design
    point over its replications, mean with a 95 % band (``sim.plots.replications``)."""
    from sim.plots import forest, replications

    runs = pd.read_parquet(folder / "runs.parquet") if (folder / "runs.parquet").is_file() else None
    source = study_source(folder, runs)
    if kind == "compare":
        yield "forest", forest.figure(pd.read_csv(folder / "effects.csv", encoding="utf-8-sig"), source, lang)
    else:
        yield from sweep_figures(folder, runs, source, lang)
    if replications.replication_sets(folder):
        name = (read_manifest(folder).get("scenario") or {})
        name = name.get("name", "") if isinstance(name, dict) else str(name)
        targets, _ = find_targets(folder, Path(name).stem, targets_path)
        yield from replications.figures(folder, lang, runs, targets)


def sweep_figures(folder: Path, runs: pd.DataFrame, source: Source, lang: str) -> Iterator[tuple[str, Figure]]:
    """The response curves of a sweep and, for Sobol or Morris, its sensitivity indices."""
    from sim.plots import response, sensitivity, study

    ok = study.ok_runs(runs)
    params = study.swept_parameters(ok)
    if params:
        yield "response", response.figure(ok, params, study.headline(ok.columns), source, lang)
    if (folder / "sensitivity.csv").is_file():
        table = pd.read_csv(folder / "sensitivity.csv", encoding="utf-8-sig")
        yield "sensitivity", sensitivity.figure(table, source, lang)


def figures(folder: str | Path, lang: str = "both", targets: str | Path | None = None,
            res=None) -> Iterator[tuple[str, Figure]]:
    """(name, figure) for every chart of ``folder`` (run, sweep or comparison)."""
    folder = Path(folder)
    kind = folder_kind(folder)
    lang = resolve_lang(lang)
    if kind == "run":
        yield from run_figures(folder, lang, targets, res)
    else:
        yield from study_figures(folder, kind, lang, targets)


def save_figure(fig: Figure, path: Path) -> None:
    """Write ``fig`` to ``path`` (format from the suffix) through a temporary file."""
    tmp = path.with_name(f".{path.name}.partial")
    try:
        fmt = path.suffix.lstrip(".")
        # fast zlib level: a chart's PNG is a few % larger and written in half the time
        extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
        fig.savefig(tmp, format=fmt, **extra)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def freeze_layout(fig: Figure) -> None:
    """Keep the positions the layout engine found at the first save: later formats of the
    same figure skip the (costly) constrained-layout pass and come out identical."""
    fig.set_layout_engine("none")


def write_chart(fig: Figure, out: Path, name: str, formats: tuple[str, ...]) -> list[Path]:
    """Save ``fig`` as ``out/NAME.<format>`` for each format (the layout found at the first
    save is kept for the others); returns the paths in ``formats`` order."""
    paths = []
    for i, fmt in enumerate(formats):
        path = out / f"{name}.{fmt}"
        save_figure(fig, path)
        paths.append(path)
        if i == 0:
            freeze_layout(fig)
    return paths


def chart_workers(jobs: int | None, charts: int) -> int:
    """How many processes draw the charts: ``jobs`` (default: the usable cores, at most 4),
    never more than the charts; 1 (this process) where workers cannot be forked safely: no
    ``fork`` start method, or other threads alive in this process (a fork copies them
    stopped, with any lock they hold held for ever)."""
    if jobs is None:
        jobs = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if jobs < 1:
        raise ValueError(f"--jobs {jobs}: give 1 or more worker processes")
    if "fork" not in mp.get_all_start_methods() or threading.active_count() > 1:
        return 1
    return max(1, min(jobs, charts))


# The charts a forked worker draws: set just before the pool forks, so the workers inherit the
# loaded run (its event log, copy-on-write) instead of receiving it pickled.
_FORKED: tuple[list[tuple[str, Callable[[], Figure]]], Path, tuple[str, ...]] | None = None


def _draw_forked(i: int) -> list[Path]:
    makers, out, formats = _FORKED  # type: ignore[misc]
    name, make = makers[i]
    return write_chart(make(), out, name, formats)


def write_charts(makers: list[tuple[str, Callable[[], Figure]]], out: Path, formats: tuple[str, ...],
                 jobs: int | None = None, progress: Callable[[str], None] | None = None) -> list[Path]:
    """Draw and save each (name, make) chart, in ``chart_workers(jobs)`` forked processes
    when more than one (a chart's drawing and saving is independent of the others'; most of
    ``hotline plot``'s time is spent in matplotlib's renderers).  Returns the paths in the
    makers' order, whatever order the charts finish in."""
    global _FORKED
    workers = chart_workers(jobs, len(makers))
    if workers == 1:
        done: dict[int, list[Path]] = {}
        for i, (name, make) in enumerate(makers):
            done[i] = write_chart(make(), out, name, formats)
            if progress:
                progress(name)
    else:
        _FORKED = (makers, out, formats)
        try:
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork")) as pool:
                futures = {pool.submit(_draw_forked, i): i for i in range(len(makers))}
                done = {}
                for f in as_completed(futures):
                    done[futures[f]] = f.result()
                    if progress:
                        progress(makers[futures[f]][0])
        finally:
            _FORKED = None
    return [p for i in range(len(makers)) for p in done[i]]


def plot_folder(
    folder: str | Path,
    lang: str = "both",
    formats: tuple[str, ...] = ("png", "svg"),
    targets: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
) -> list[Path]:
    """Write every chart of ``folder`` to ``folder/charts/NAME.<format>``; returns the paths.

    A run folder's charts are drawn in ``jobs`` forked worker processes (default: the usable
    cores, at most 4; see ``chart_workers``).  For a run folder it also writes
    ``charts/league_table.csv``, the data of the league chart (the recorded monthly scores
    beside the indicators counted from the log).  Raises FolderError for a folder of no known
    kind, ValueError for ``jobs`` < 1."""
    from sim.plots import data
    from sim.result import Result

    folder = Path(folder)
    kind = folder_kind(folder)
    lang = resolve_lang(lang)
    out = folder / CHARTS
    out.mkdir(exist_ok=True)
    res = Result.load(folder) if kind == "run" else None
    if res is not None:
        written = write_charts(run_chart_makers(folder, lang, targets, res), out, formats, jobs, progress)
    else:  # a study's few charts are drawn here, one after the other
        written = []
        for name, fig in figures(folder, lang, targets, res):
            written += write_chart(fig, out, name, formats)
            if progress:
                progress(name)
    if res is not None:
        path = out / "league_table.csv"
        data.league_table(res).to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    stamp = {"lang": lang, "targets": str(targets or ""), "source": source_stamp(folder),
             "charts": [p.stem for p in written if p.suffix == ".png"]}
    (out / STAMP).write_text(json.dumps(stamp, ensure_ascii=False, indent=1), encoding="utf-8")
    return written


def source_stamp(folder: Path) -> list[list]:
    """Name, size and modification time of the folder's data files: charts made from them
    are current while this is unchanged."""
    names = ("manifest.json", "events.parquet", "runs.parquet", "effects.csv", "sensitivity.csv",
             "summary.csv", "scenario.toml")
    out = []
    for name in names:
        p = folder / name
        if p.is_file():
            st = p.stat()
            out.append([name, st.st_size, st.st_mtime_ns])
    return out


def current_pngs(folder: str | Path, lang: str, targets: str | Path | None = None) -> dict[str, bytes] | None:
    """The PNGs ``plot_folder`` wrote, if they are current for this folder, ``lang`` and
    ``targets``; None otherwise (the caller draws them)."""
    folder = Path(folder)
    try:
        stamp = json.loads((folder / CHARTS / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (stamp.get("lang") != resolve_lang(lang) or stamp.get("targets") != str(targets or "")
            or stamp.get("source") != source_stamp(folder)):
        return None
    try:
        return {name: (folder / CHARTS / f"{name}.png").read_bytes() for name in stamp["charts"]}
    except OSError:
        return None
