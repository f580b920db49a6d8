"""The team's workspace in a real browser: Chromium, driven by Selenium, signs in from
the emailed link, verifies an entry, answers a question and decides a place, with the
keyboard and without JavaScript. Screenshots of the main pages go to $CIB_SCREENSHOTS
(docs/screenshots in the repository is made this way) or the test's own directory."""
from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.campaign_seed import submit
from tests.mailer import body_text, message, send, settle
from tests.team_browser import TEAM, link_in

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as shown  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def chromium() -> Iterator[object]:
    if not (CHROMIUM and DRIVER):
        reason = "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100",
                     "--disable-gpu", "--lang=en-GB"):
        options.add_argument(argument)
    # The workspace works without JavaScript; the browser runs with it off to prove it.
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: object, directory: Path, name: str) -> None:
    driver.save_screenshot(str(directory / f"{name}.png"))


def _heading(driver: object, text: str) -> None:
    """Wait for the next page: its heading. While the browser swaps pages, the old
    heading can vanish between finding it and reading it; that is retried, not failed."""
    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
        shown.text_to_be_present_in_element((By.TAG_NAME, "h1"), text))


def _press(driver: object, button: object) -> str:
    """Press a form's button; wait for the page the action leads to, and read what it
    says it did (the banner, which has the focus, without JavaScript)."""
    page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 15).until(shown.staleness_of(page))
    banner = WebDriverWait(driver, 15).until(shown.presence_of_element_located((By.CLASS_NAME, "banner")))
    assert driver.switch_to.active_element == banner, "the banner saying what was done does not have the focus"
    return banner.text


async def test_a_team_member_signs_in_verifies_answers_and_decides(runtime, relay, chromium, tmp_path):
    driver = chromium
    shots = Path(os.environ.get("CIB_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{runtime.http_port}"

    await submit(runtime, "pbr-pathfinder", "Wigan", sender="officer@wigan.gov.uk")
    await submit(runtime, "pbr-pathfinder", "Leeds", sender="officer@leeds.gov.uk")
    await send(runtime, message("Council: Slough Borough Council\nContact name: Sam Khan\nContact role: Head of Early "
                                "Help\nNumber of children's centres: 9", sender="sam.khan@gmail.com",
                                subject="PbR pathfinder"), mail_from="sam.khan@gmail.com")
    await send(runtime, message("What counts as a children's centre for the pathfinder?", subject="A question"))
    await settle(runtime)
    unverified = next(s["reference"] for s in (await runtime.service.export())["submissions"] if not s["verified"])
    wigan = next(s["reference"] for s in (await runtime.service.export())["submissions"] if s["council"].startswith("Wigan"))

    def step(action):  # Selenium blocks: it runs in a thread while the service serves here
        return asyncio.to_thread(action)

    def ask_for_link() -> None:
        driver.get(base + "/team/")
        assert driver.current_url.startswith(base + "/team/sign-in")
        _shot(driver, shots, "sign-in")
        field = driver.find_element(By.ID, "email")
        field.send_keys(TEAM)
        field.send_keys(Keys.ENTER)  # the keyboard submits the form
        _heading(driver, "Check your email")

    await step(ask_for_link)
    await runtime.delivery.flush()
    link = link_in(body_text(relay.to(TEAM)[-1]))

    def sign_in() -> None:
        driver.get(link)
        driver.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()
        _heading(driver, "Overview")
        assert "1 unverified entry to verify or reject" in driver.find_element(By.ID, "main").text
        _shot(driver, shots, "overview")

    await step(sign_in)

    def verify() -> None:
        driver.find_element(By.LINK_TEXT, "Needs a person").click()
        _heading(driver, "Needs a person")
        _shot(driver, shots, "needs-a-person")
        row = driver.find_element(By.XPATH, f"//section[@id='unverified']//tr[td/a[text()='{unverified}']]")
        said = _press(driver, row.find_element(By.XPATH, ".//button[starts-with(normalize-space(), 'Verify')]"))
        assert f"{unverified} is verified. The sender has been told." in said

    await step(verify)

    def answer() -> None:
        box = driver.find_element(By.XPATH, "//section[@id='enquiries']//textarea")
        box.send_keys("Any registered site offering early childhood services counts.")
        said = _press(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Send the answer']"))
        assert "The answer is on its way to the sender." in said

    await step(answer)

    def decide() -> None:
        driver.find_element(By.LINK_TEXT, "Submissions and nominations").click()
        _heading(driver, "Submissions and nominations")
        _shot(driver, shots, "entries")
        driver.find_element(By.LINK_TEXT, wigan).click()
        _heading(driver, wigan)
        driver.find_element(By.CSS_SELECTOR, "label[for='decision-accept']").click()
        driver.find_element(By.ID, "note").send_keys("Welcome to the pathfinder.")
        _shot(driver, shots, "entry")
        said = _press(driver, driver.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Save the decision')]"))
        assert f"{wigan} is accepted (place 1 of 30)" in said
        driver.find_element(By.LINK_TEXT, "Overview").click()
        _heading(driver, "Overview")
        assert "1 of 30 places accepted" in driver.find_element(By.ID, "main").text
        # The first Tab reaches the skip link, as on any GOV.UK service.
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        assert driver.switch_to.active_element.text == "Skip to main content"

    await step(decide)

    await runtime.delivery.flush()
    exported = {s["reference"]: s for s in (await runtime.service.export())["submissions"]}
    assert exported[unverified]["verified"] is True and exported[wigan]["decision"] == "accepted"
    answered = [m for m in relay.to("jane.smith@camden.gov.uk") if "has answered" in body_text(m)]
    assert "Any registered site offering early childhood services counts." in body_text(answered[0])
    assert "Welcome to the pathfinder." in body_text(relay.to("officer@wigan.gov.uk")[-1])
