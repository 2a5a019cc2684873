"""Make the screenshots of docs/app.md: start ``hotline app`` on the district scenario, set a
what-if in a real browser (Debian's chromium through Playwright), run it, and save the page.

    .venv/bin/python docs/app_screenshots.py [--scenario scenarios/yuelu_2021.toml]

Writes docs/app/whatif-zh.png (the controls and the indicator table, in Chinese) and
docs/app/charts-en.png (the charts, in English).  The what-if is the issue's first example:
the supervision team from 4 to 2 and the complaint limit from 15 to 10 working days, 5 seeds.
Results are cached in results/app-docs, so a second call is quick.  Needs the system
packages chromium and fonts-noto-cjk (tests/run.sh installs them).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "app"
CHROMIUM = "/usr/lib/chromium/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _press(page, key: str, button: str, times: int) -> None:
    slider = page.locator(f".st-key-{key}").get_by_role("slider")
    slider.focus()
    for _ in range(times):
        slider.press(button)
        time.sleep(0.3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "yuelu_2021.toml"))
    ap.add_argument("--cache", default=str(ROOT / "results" / "app-docs"))
    args = ap.parse_args()
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "sim.cli", "app", args.scenario, "--port",
                               str(port), "--cache", args.cache], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(url)
            expect(page.get_by_role("heading", name="12345 热线推演：如果……会怎样？")).to_be_visible(timeout=60_000)
            _press(page, "inspectors", "ArrowLeft", 2)            # 4 -> 2 inspectors
            _press(page, "limit_complaint", "ArrowLeft", 10)      # 15 -> 10 working days
            run = page.get_by_role("button", name="运行")
            if run.count():
                run.click()
            table = page.get_by_test_id("stTable").first
            expect(table).to_be_visible(timeout=900_000)
            expect(page.get_by_test_id("stImage").locator("img")).to_have_count(4, timeout=60_000)
            time.sleep(1)
            page.screenshot(path=str(OUT / "whatif-zh.png"))
            page.get_by_text("English", exact=True).click()
            expect(page.get_by_role("heading", name="12345 hotline: what if ...?")).to_be_visible()
            expect(page.get_by_test_id("stImage").locator("img")).to_have_count(4, timeout=60_000)
            page.get_by_test_id("stImage").first.scroll_into_view_if_needed()
            time.sleep(1)
            page.screenshot(path=str(OUT / "charts-en.png"))
            browser.close()
    finally:
        server.terminate()  # by its own pid: hotline app execs Streamlit
        server.wait(timeout=15)
    print(f"wrote {OUT / 'whatif-zh.png'} and {OUT / 'charts-en.png'}")


if __name__ == "__main__":
    main()
