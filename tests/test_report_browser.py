"""The demo's report as a person sees it: opened by a real headless Chromium.

Debian's `chromium`, driven by Playwright's Python package pointed at that
executable (Playwright never downloads a browser here). `.ci/run` installs chromium
when it is missing; where no browser can be had, these tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cxengine.cli import cli

CHROMIUM = os.environ.get("CXENGINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason=f"no chromium at {CHROMIUM} (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cxengine init demo && cxengine run && cxengine report` in a fresh folder."""
    root = tmp_path_factory.mktemp("browser") / "demo"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    assert CliRunner().invoke(cli, ["--config", str(root), "run"]).exit_code == 0
    out = root / "report.html"
    result = CliRunner().invoke(cli, ["--config", str(root), "report", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with playwright.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        except Exception as exc:  # a chromium that cannot start here (no shared libs, …)
            pytest.skip(f"chromium at {CHROMIUM} does not start: {exc}")
        yield b
        b.close()


def test_the_demo_report_renders_in_chromium(
    demo_report: Path, browser: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(demo_report.as_uri())
    assert errors == []
    assert requests == [demo_report.as_uri()]  # nothing fetched but the file itself

    text = page.inner_text("body")
    titles = ["Net Promoter Score (NPS)", "Customer Satisfaction (CSAT)"]
    for words in ("Headline", "Trends", "Composition", "Themes", "Data quality", *titles):
        assert words in text, words
    assert "Provenance" in text
    # The NPS card's value is in the page text, with its unit.
    card = page.locator("article.card", has_text="Net Promoter Score (NPS)")
    assert card.locator(".value").inner_text().endswith(" points")

    # Every chart is drawn: an SVG with a real size and marks inside (folded ones too).
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    for section in ("trends", "composition", "themes"):
        figures = page.locator(f"#{section} figure.chart > svg")
        assert figures.count() > 0, section
        for i in range(figures.count()):
            svg = figures.nth(i)
            box = svg.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
            assert svg.locator("path").count() > 0
    # Trend lines per touchpoint with interval bands: NPS has a line and a band each.
    nps = page.locator("#trends .metric", has_text="Net Promoter Score (NPS)")
    assert "website" in nps.inner_text() or nps.locator("text", has_text="website").count()
    assert nps.locator("g.mark-area path").count() >= 1
    assert nps.locator("g.mark-line path").count() >= 5

    shot = tmp_path / "demo-report.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    target = os.environ.get("CXENGINE_SCREENSHOT_DIR")
    if target:
        shutil.copy(shot, Path(target) / shot.name)
    page.close()


def test_the_report_reads_on_a_phone_and_prints(demo_report: Path, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(demo_report.as_uri())
    # No sideways scrolling of the page itself on a phone (wide tables scroll in place).
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    pdf = page.pdf(format="A4")
    assert pdf[:4] == b"%PDF" and len(pdf) > 20_000
    page.close()
