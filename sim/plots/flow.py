"""Chart 5: the flow through the lifecycle, with the count on each transition."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sim.plots import data
from sim.plots.style import COLOURS, Source, new_figure, resolve_lang, source_of, title, tr
from sim.result import Result

# main path: (count key, Chinese, English), left to right
MAIN = [
    ("arrive", "派单", "dispatched"),
    ("sign", "签收", "signed for"),
    ("start", "办理", "handling rounds"),
    ("reply", "答复", "replies"),
    ("callback", "回访", "callbacks"),
    ("close", "办结", "closes"),
]


def figure(counts: dict[str, int], source: Source, lang: str = "both") -> Figure:
    """An annotated flow chart of the lifecycle: boxes for the main steps with their event
    counts, arrows for the loops (returns and redispatches, send-backs, reopens), the side
    events (extensions, supervision) and the ends (closed, open, unsigned at the horizon).

    ``counts``: from ``data.flow_counts`` (events per activity and orders per end state).
    Escalations (提级督办) are counted on the reopen loop."""
    lang = resolve_lang(lang)
    fig = new_figure(11, 6.2, source, lang)
    ax = fig.add_subplot()
    ax.set_xlim(-0.1, 12.2)
    ax.set_ylim(0, 6.2)
    ax.set_axis_off()
    xs = [1.0 + 2.0 * i for i in range(len(MAIN))]
    y = 3.5

    def box(x: float, yy: float, text: str, colour: str, w: float = 1.6, h: float = 0.9) -> None:
        ax.add_patch(FancyBboxPatch((x - w / 2, yy - h / 2), w, h, boxstyle="round,pad=0.05",
                                    fc=colour, ec="0.3", alpha=0.9))
        ax.text(x, yy, text, ha="center", va="center", fontsize=8.5)

    def loop(a: tuple[float, float], b: tuple[float, float], arm: float, label: str, colour: str,
             down: bool = False) -> None:
        """A rectangular loop from a to b, ``arm`` points up (or down) from the boxes."""
        angle = -90 if down else 90
        ax.add_patch(FancyArrowPatch(
            a, b, arrowstyle="-|>", mutation_scale=12, color=colour, lw=1.3,
            connectionstyle=f"arc,angleA={angle},angleB={angle},armA={arm},armB={arm},rad=6"))
        # the label sits on the loop's horizontal run (arm points ~ arm / 52 data units here)
        yy = a[1] + (-1 if down else 1) * (arm / 52.0 + 0.05)
        ax.text((a[0] + b[0]) / 2, yy, label, ha="center", va="center", fontsize=7.5, color=colour,
                bbox={"fc": "white", "ec": "none", "pad": 0.8, "alpha": 0.9})

    def n(key: str) -> str:
        return f"{counts.get(key, 0):,}"

    for x, (key, zh, en) in zip(xs, MAIN, strict=True):
        box(x, y, f"{tr(lang, zh, en, sep=chr(10))}\n{n(key)}", "#DCEBF7")
    for a, b in zip(xs, xs[1:], strict=False):
        ax.add_patch(FancyArrowPatch((a + 0.85, y), (b - 0.85, y), arrowstyle="-|>", mutation_scale=12, color="0.3"))
    top, bottom = y + 0.5, y - 0.5
    # loops above the main row
    loop((xs[1] + 0.35, top), (xs[1] - 0.35, top), 30,
         tr(lang, f"退单 {n('return')} → 改派 {n('redispatch')}", f"returned {n('return')} → redispatched {n('redispatch')}",
            sep="\n"), COLOURS[5])
    loop((xs[3] - 0.2, top), (xs[2] + 0.4, top), 30,
         tr(lang, f"审核退回重办 {n('sendback')}", f"sent back by review {n('sendback')}", sep="\n"), COLOURS[5])
    loop((xs[5], top), (xs[2] - 0.2, top), 85,
         tr(lang, f"不满意重办 {n('reopen')}（提级督办 {n('escalate')}）",
            f"reopened after a dissatisfied callback {n('reopen')} (escalated {n('escalate')})", sep="\n"),
         COLOURS[3])
    # below: the centre's direct answers
    loop((xs[1], bottom), (xs[3], bottom), 30,
         tr(lang, f"中心直接答复 {n('centre_reply')}", f"answered by the centre {n('centre_reply')}", sep="\n"),
         COLOURS[2], down=True)
    ax.text(xs[4], bottom - 0.3, tr(lang, f"已接通 {n('callback_reached')}", f"reached {n('callback_reached')}"),
            ha="center", fontsize=7.5, color="0.3")
    # side events while an order is being handled
    box(xs[2] + 1.0, 0.95, tr(lang, f"延期 {n('extend')}，预警 {n('warn')}，催办 {n('remind')}，通报 {n('criticise')}",
        f"extensions {n('extend')}, warnings {n('warn')},\nreminders {n('remind')}, criticisms {n('criticise')}",
        sep="\n"), "#FCE9D4", w=4.2, h=1.1)
    ax.text(xs[2] + 1.0, 0.15, tr(lang, "办理期间的附带事件", "side events while an order is handled"),
            ha="center", fontsize=7.5, color="0.35")
    # the ends at the horizon
    box(xs[5], 1.1, tr(lang, f"期末：已办结 {n('closed_orders')}\n未办结 {n('open')}，未签收 {n('unsigned')}",
        f"at the horizon: closed {n('closed_orders')}\nopen {n('open')}, unsigned {n('unsigned')}", sep="\n"),
        "#E3F2E1", w=2.0, h=1.5)
    ax.add_patch(FancyArrowPatch((xs[5], bottom), (xs[5], 1.9), arrowstyle="-|>", mutation_scale=12, color="0.3"))
    title(fig, lang, "工单流转：各环节事件数（件次）", "Lifecycle flow: events on each transition (count)",
          sub=tr(lang, "办理可多轮（退回、重办），故事件数可多于工单数", "an order can be handled more than once (send-backs, reopens), so events can exceed orders"))
    return fig


def flow(res: Result, lang: str = "both", source: Source | None = None) -> Figure:
    """Chart 5 for a run (see ``figure``)."""
    return figure(data.flow_counts(res), source or source_of(res), lang)
