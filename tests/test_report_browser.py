"""A real browser opens the report: headless Chromium (Debian's, through Playwright's Python
package; never ``playwright install``) loads report.html with no console errors, and every
image has a non-zero size.  A screenshot is saved beside the report for a person to look at.

Needs the system packages chromium and fonts-noto-cjk, which the README's test command
(tests/run.sh) and CI install.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.report import build_report

CHROMIUM = Path("/usr/lib/chromium/chromium")  # the real binary (/usr/bin/chromium is a wrapper)
SMALL = Path(__file__).resolve().parent / "scenarios" / "small.toml"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    res = sim.simulate(sim.load_scenario(SMALL), seed=1)
    folder = res.save(tmp_path_factory.mktemp("browser") / "run")
    return build_report(folder)


def test_report_loads_in_chromium_without_errors(report):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} missing: install Debian's chromium (tests/run.sh does)"
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "img, svg",
                """els => els.map(e => {
                    const r = e.getBoundingClientRect();
                    return {w: r.width, h: r.height, natural: e.naturalWidth ?? -1, complete: e.complete ?? true};
                })""",
            )
            heading = page.inner_text("h1")
            summary = page.inner_text(".summary")
            page.screenshot(path=str(report.with_name("report-screenshot.png")), full_page=False)
        finally:
            browser.close()
    assert problems == []
    # nothing fetched but the file itself and its inline data URIs
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert len(images) == 7
    for img in images:
        assert img["w"] > 0 and img["h"] > 0 and img["complete"] and img["natural"] != 0, img
    assert "年度总结" in heading and "全年共计签收热线工单" in summary
    assert report.with_name("report-screenshot.png").stat().st_size > 20_000
