"""What every chart shares: the CJK font, bilingual labels, the figure and its source line.

The Chinese font comes from a PyPI package (``mplfonts`` ships Noto Sans CJK SC, SIL Open Font
Licence), so a fresh ``pip install`` renders Chinese.  It is registered with
``matplotlib.font_manager.fontManager.addfont``; nothing is written into matplotlib's folder.
If the font cannot be found, charts fall back to English with one warning: a chart never shows
boxes instead of characters.

Figures are ``matplotlib.figure.Figure`` objects made without pyplot: they are drawn by the Agg
canvas when saved, never registered with a GUI backend, and freed when dropped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

LANGS = ("zh", "en", "both")
CJK_FAMILY = "Noto Sans CJK SC"
# matplotlib falls back glyph by glyph through the family list: the CJK face (which has Latin
# letters and digits too) first, DejaVu for any sign it lacks.  One face for most text is also
# faster to lay out than two.
_LATIN_FAMILY = "DejaVu Sans"

_font_state: dict[str, Any] = {"checked": False, "path": None, "warned": False}


def cjk_font_path() -> Path | None:
    """The Noto Sans CJK SC file shipped by the ``mplfonts`` package, or None if absent.

    (Only this file is used: the package also ships SimHei, whose redistribution licence is
    doubtful.)"""
    try:
        import mplfonts
    except ImportError:
        return None
    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    return path if path.is_file() else None


def ensure_cjk_font() -> bool:
    """Register the CJK font with matplotlib once; True when Chinese can be drawn."""
    if not _font_state["checked"]:
        _font_state["checked"] = True
        path = cjk_font_path()
        if path is not None:
            from matplotlib import font_manager

            font_manager.fontManager.addfont(str(path))
            _font_state["path"] = path
    return _font_state["path"] is not None


def resolve_lang(lang: str) -> str:
    """Check ``lang`` (zh, en or both) and fall back to English, with one warning per
    process, when Chinese is asked for and no CJK font is installed.

    Raises ValueError for any other value."""
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r}: expected one of {', '.join(LANGS)}")
    # registered even for English labels: unit names in the data are Chinese
    if ensure_cjk_font() or lang == "en":
        return lang
    if not _font_state["warned"]:
        _font_state["warned"] = True
        warnings.warn(
            "no CJK font found (the mplfonts package provides Noto Sans CJK SC): "
            "charts are labelled in English only",
            stacklevel=2,
        )
    return "en"


def has_cjk() -> bool:
    """True when the CJK font is registered (call ``resolve_lang`` first)."""
    return _font_state["path"] is not None


def safe_text(text: str, fallback: str | None = None) -> str:
    """``text`` as data to print on a chart (a unit's or variant's name): unchanged when the
    CJK font is there; otherwise ``fallback`` (e.g. "unit 3"), or non-ASCII characters as '?',
    so that no glyph is missing."""
    if has_cjk() or text.isascii():
        return text
    return fallback if fallback is not None else text.encode("ascii", "replace").decode("ascii")


def apply_rc() -> None:
    """Set the font family list used when a chart is drawn (ticks are laid out at draw time,
    so this is a process setting, not one chart's)."""
    families = [_LATIN_FAMILY]
    if _font_state["path"] is not None:
        families.insert(0, CJK_FAMILY)
    matplotlib.rcParams["font.family"] = families
    matplotlib.rcParams["svg.fonttype"] = "path"  # SVGs render without the font installed
    matplotlib.rcParams["axes.unicode_minus"] = False


def tr(lang: str, zh: str, en: str, sep: str = " ") -> str:
    """A label in the chart's language: Chinese, English, or both (Chinese first)."""
    if lang == "zh":
        return zh
    if lang == "en":
        return en
    return f"{zh}{sep}{en}"


@dataclass(frozen=True)
class Source:
    """What a chart was made from: printed as its source line."""

    scenario: str
    seeds: str
    version: str

    def line(self, lang: str) -> str:
        scenario = safe_text(self.scenario)
        return tr(
            lang,
            f"来源：hotline-sim {self.version}，场景 {scenario}，种子 {self.seeds}",
            f"source: hotline-sim {self.version}, scenario {scenario}, seeds {self.seeds}",
            sep="  |  ",
        )


def package_version() -> str:
    try:
        return metadata.version("hotline-sim")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def source_of_manifest(manifest: dict[str, Any], seeds: str | None = None) -> Source:
    """A Source from a run or study manifest (scenario name, seed(s), package version)."""
    versions = manifest.get("versions") or {}
    scenario = manifest.get("scenario") or manifest.get("scenario_name") or "?"
    if isinstance(scenario, dict):  # a study manifest may hold the whole definition
        scenario = scenario.get("name", "?")
    if seeds is None:
        seeds = str(manifest.get("seed", manifest.get("seeds", "?")))
    return Source(str(scenario), seeds, str(versions.get("hotline-sim", package_version())))


def source_of(res: Any) -> Source:
    """The source line of one run (a ``sim.result.Result``): scenario name, seed, version."""
    versions = res.meta.get("versions") or {}
    return Source(res.scenario.name, str(res.seed), str(versions.get("hotline-sim", package_version())))


def new_figure(width: float, height: float, source: Source, lang: str) -> Figure:
    """A constrained-layout figure (inches) with its source line along the bottom edge."""
    apply_rc()
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    # keep a strip at the bottom for the source line, outside the laid-out axes
    strip = 0.28 / height
    fig.get_layout_engine().set(rect=(0, strip, 1, 1 - strip))
    fig.text(0.005, 0.004, source.line(lang), fontsize=7, color="0.4", ha="left", va="bottom")
    return fig


def title(fig: Figure, lang: str, zh: str, en: str, sub: str | None = None) -> None:
    """The chart's title (and an optional smaller second line)."""
    text = tr(lang, zh, en, sep="  ")
    fig.suptitle(text if sub is None else f"{text}\n{sub}", fontsize=12 if sub is None else 11)


CATEGORY_LABELS = {
    "help": ("求助", "help"),
    "consult": ("咨询", "consultation"),
    "complaint": ("投诉", "complaint"),
    "suggestion": ("建议", "suggestion"),
}

# one palette for every chart (colour-blind safe: Okabe-Ito)
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
