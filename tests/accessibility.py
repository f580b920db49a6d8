"""Accessibility checks for any test that has pages: axe-core in the browser (WCAG 2.2 AA)
and the Nu HTML checker over the HTML as served. Both come from package.json (`npm ci`)
and the checker runs under Java; without them a test skips, and in CI (CI set) fails."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
VNU = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def missing(reason: str) -> None:
    """A tool the check needs is not here: a failure in CI, a skip on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def chromium(*, javascript: bool, width: int = 1280, height: int = 1100) -> Any:
    """Headless Chromium driven by Selenium. axe-core needs JavaScript on: with it off,
    Selenium's execute_script still runs, but the page's timers never fire, and axe waits
    on them for ever."""
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (CHROMIUM and CHROMEDRIVER):
        missing("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     "--disable-gpu", "--lang=en-GB"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    return driver


def set_width(driver: Any, width: int, height: int = 900) -> None:
    """The viewport `width` CSS pixels wide, exactly (a window can be no narrower than
    the browser allows; emulation can)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def axe_violations(driver: Any, *, tags: list[str] | None = None) -> list[dict[str, Any]]:
    """axe-core's violations on the driver's current page, at WCAG 2.2 AA unless `tags`
    say otherwise: each {id, impact, help, nodes: [{target, html, summary}]}."""
    if not AXE.exists():
        missing(f"axe-core is not installed ({AXE} is missing): run `npm ci` in {ROOT}")
    from selenium.common.exceptions import TimeoutException

    driver.set_script_timeout(5)
    try:
        driver.execute_script("return new Promise(done => setTimeout(() => done(true), 0))")
    except TimeoutException:
        raise AssertionError("axe-core needs a browser with JavaScript on (tests.accessibility.chromium("
                             "javascript=True)): this page's timers never fire") from None
    driver.set_script_timeout(120)
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found = driver.execute_script(
        "return axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        ".then(results => results.violations)",
        tags or WCAG_AA,
    )
    return [
        {
            "id": v["id"], "impact": v.get("impact"), "help": v["help"],
            "nodes": [{"target": n["target"], "html": n["html"][:300], "summary": n.get("failureSummary", "")}
                      for n in v["nodes"]],
        }
        for v in found
    ]


def describe(violations: list[dict[str, Any]]) -> str:
    """axe's violations as lines a person can act on, for an assertion's message."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines += [f"    {n['target']}: {n['html']}\n      {n['summary']}".rstrip() for n in v["nodes"][:5]]
    return "\n".join(lines)


def nu_errors(documents: dict[str, str]) -> dict[str, list[str]]:
    """The Nu HTML checker's errors in each HTML document (name -> HTML), by name; every
    name is in the answer, with [] when it has none. One Java run checks them all: the
    checker takes seconds to start."""
    java = shutil.which("java")
    if not java:
        missing("java is not installed (apt-get install default-jre-headless): the Nu HTML checker runs on it")
    if not VNU.exists():
        missing(f"vnu-jar is not installed ({VNU} is missing): run `npm ci` in {ROOT}")
    names = list(documents)
    with tempfile.TemporaryDirectory(prefix="nu-") as folder:
        paths = []
        for number, name in enumerate(names):
            path = Path(folder) / f"{number:04d}.html"  # names may hold any character; files are numbered
            path.write_text(documents[name], encoding="utf-8")
            paths.append(path)
        done = subprocess.run(
            [java, "-jar", str(VNU), "--format", "json", "--errors-only", "--exit-zero-always", *map(str, paths)],
            capture_output=True, text=True, timeout=600, check=False,
        )
        try:
            report = json.loads(done.stderr or done.stdout)  # the checker writes its report to stderr
        except json.JSONDecodeError:
            raise AssertionError(f"the Nu HTML checker did not answer in JSON: {done.stdout}{done.stderr}") from None
    by_file = {path.name: name for path, name in zip(paths, names)}
    errors: dict[str, list[str]] = {name: [] for name in names}
    for message in report.get("messages", []):
        if message.get("type") not in ("error", "non-document-error"):
            continue
        name = by_file.get(str(message.get("url", "")).rsplit("/", 1)[-1])
        where = f"line {message['lastLine']}: " if "lastLine" in message else ""
        text = f"{where}{message.get('message', '')}"
        if message.get("extract"):
            text += f" [{message['extract'].strip()}]"
        if name is None:
            raise AssertionError(f"the Nu HTML checker failed: {text}")
        errors[name].append(text)
    return errors
