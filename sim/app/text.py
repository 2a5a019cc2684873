"""The what-if page's words in Chinese and English (the language switch)."""

from __future__ import annotations

from sim.scenario import CATEGORY_CHINESE

LANGS = {"zh": "中文", "en": "English"}

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("12345 热线推演：如果……会怎样？", "12345 hotline: what if ...?"),
    "intro": ("移动左侧的控件，按“运行”：方案与基准在相同的随机种子上各运行一年（共同随机数），"
              "差值带配对95%置信区间。",
              "Move the controls on the left and press Run: the what-if and the baseline are "
              "each simulated for the year on the same seeds (common random numbers); "
              "differences come with paired 95 % confidence intervals."),
    "language": ("语言 Language", "语言 Language"),
    "seeds": ("随机种子数（重复运行次数）", "seeds (replications)"),
    "staff": ("人员", "Staff"),
    "handlers": ("{kind}每单位增减办理人员（人/单位）", "handlers added per {kind} unit (per unit)"),
    "department": ("部门", "department"),
    "street": ("街镇", "street/town"),
    "inspectors": ("督查队伍人数（人）", "supervision team (inspectors)"),
    "limits": ("办理时限（工作日）", "Reply limits (working days)"),
    "limit": ("{cat}办理时限（工作日）", "{cat} reply limit (working days)"),
    "mechanisms": ("六个一机制", "The six mechanisms (六个一)"),
    "surge": ("工单高峰", "Surge"),
    "surge_on": ("增加一次高峰", "add a surge"),
    "surge_month": ("月份", "month"),
    "surge_percent": ("工单增减（%）", "arrivals change (%)"),
    "surge_topic": ("事项", "topic"),
    "all_topics": ("全部事项", "all topics"),
    "callback": ("回访方式", "callback method"),
    "manual": ("人工回访", "manual calls"),
    "sms": ("短信回访", "SMS"),
    "sampled": ("抽样回访", "sampled calls"),
    "base": ("基准", "baseline"),
    "run": ("运行", "Run"),
    "cancel": ("取消", "Cancel"),
    "cancelled": ("已取消；已完成的运行已保存，再次运行时接着算。",
                  "Cancelled; finished runs are kept and a new run resumes from them."),
    "invalid": ("这个组合不合法（场景校验）：", "This combination is not valid (scenario schema): "),
    "same": ("与基准相同：请移动控件。", "Same as the baseline: move a control."),
    "changes": ("方案改动", "What the what-if changes"),
    "estimate": ("预计耗时约 {t}（{n} 次运行，{w} 个进程，约 {o:,.0f} 件工单/次）。",
                 "This will take about {t} ({n} runs on {w} processes, about {o:,.0f} orders each)."),
    "cached": ("已缓存：无需运行。", "Cached: nothing to run."),
    "unstaffed": ("注意：{n} 个单位将没有办理人员（{names}），它们的工单无人办理。",
                  "Note: {n} units will have no handler ({names}); nobody works their orders."),
    "loaded": ("（本机当前负载 {load:.1f}，已计入）", " (this machine's current load, {load:.1f}, included)"),
    "confirm": ("我知道这次运行需要约 {t}", "I understand this run takes about {t}"),
    "progress": ("运行中：{d}/{n} 次运行完成（{phase}）", "Running: {d} of {n} runs done ({phase})"),
    "phase_runs": ("模拟", "simulating"),
    "phase_charts": ("绘图", "drawing charts"),
    "phase_starting": ("启动", "starting"),
    "phase_done": ("完成", "done"),
    "baseline_running": ("正在后台计算基准（{d}/{n}）……", "Computing the baseline in the background ({d}/{n}) ..."),
    "failed": ("运行失败：", "The run failed: "),
    "results": ("结果", "Results"),
    "indicators": ("指标（方案 − 基准，{n} 个种子）", "Indicators (what-if − baseline, {n} seeds)"),
    "costs": ("成本", "Costs"),
    "monthly": ("每月工单与积压", "Orders and backlog by month"),
    "daily": ("每日来单与积压", "Daily arrivals and backlog"),
    "download_toml": ("下载方案场景（TOML）", "Download the what-if scenario (TOML)"),
    "make_report": ("生成方案报告（HTML）", "Make the what-if report (HTML)"),
    "download_report": ("下载方案报告（HTML，种子 {seed}）", "Download the what-if report (HTML, seed {seed})"),
    "note_pp": ("比率的差值以百分点（pp）表示；“显著”：配对95%置信区间不含0。",
                "Differences of rates are in percentage points (pp); 'CI excludes 0': the paired "
                "95 % interval does not contain 0."),
    "took": ("本次结果用时 {s:.1f} 秒计算。", "These results took {s:.1f} s to compute."),
}


def t(key: str, lang: str, **fmt: object) -> str:
    """The text ``key`` in ``lang`` ("zh" or "en"), formatted with ``fmt``."""
    zh, en = _TEXT[key]
    text = zh if lang == "zh" else en
    return text.format(**fmt) if fmt else text


def category(cat: str, lang: str) -> str:
    """An order category's name: 求助/help, 咨询/consult, 投诉/complaint, 建议/suggestion."""
    return CATEGORY_CHINESE[cat] if lang == "zh" else cat


def duration(seconds: float, lang: str) -> str:
    """A run time for people: seconds under two minutes, else minutes."""
    if seconds < 120:
        return f"{seconds:.0f} 秒" if lang == "zh" else f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} 分钟" if lang == "zh" else f"{seconds / 60:.0f} min"
