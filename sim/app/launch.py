"""``hotline app``: the command line that starts the what-if page with Streamlit."""

from __future__ import annotations

import sys
from pathlib import Path

PAGE = Path(__file__).with_name("page.py")
DEFAULT_HOST = "127.0.0.1"  # the page is for this machine unless --host exposes it
DEFAULT_PORT = 8501


def streamlit_command(scenario: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                      cache: str | Path = "results/app", jobs: int = 0) -> list[str]:
    """The ``streamlit run`` command of the page: headless, usage statistics off, no file
    watcher, bound to ``host``:``port``; the page's own arguments after ``--``."""
    return [
        sys.executable, "-m", "streamlit", "run", str(PAGE),
        "--server.address", host, "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--server.runOnSave", "false",
        "--global.developmentMode", "false", "--client.toolbarMode", "minimal",
        "--", "--scenario", str(scenario), "--cache", str(cache), "--jobs", str(jobs),
    ]


def streamlit_installed() -> bool:
    """True when the optional ``app`` extra (Streamlit) is installed."""
    import importlib.util

    return importlib.util.find_spec("streamlit") is not None
