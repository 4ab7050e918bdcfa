"""Regenerate docs/screenshots/portal-*.png: the portal's main pages at 390 px, in English and 简体中文.

    .venv/bin/python scripts/portal_screenshots.py

Runs the browser test that takes them (headless Debian chromium, a live test server).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    env = {**os.environ, "FEEDESK_SCREENSHOT_DIR": str(ROOT / "docs" / "screenshots")}
    test = "tests/portal/e2e/test_screenshots.py"
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", test], cwd=ROOT, env=env))
