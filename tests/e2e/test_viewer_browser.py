"""What a person sees, in a real browser (Debian's Chromium driven by Playwright): the
viewer shows the demo's trace with its span tree and the request's log line with the same
trace id, the links between signals open that trace, and Prometheus' classic UI shows the
alert rules. Screenshots are saved (``--screenshots DIR``; ``make screenshots``)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from astra_otel._config.params import environ_snapshot
from astra_otel.demo.app import ANALYZE_ROUTE

from _support.stack import Analyzed, DemoService, RunningStack, wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import BrowserContext, Locator, Page

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# A fresh request's trace must be in the viewer within two minutes, however loaded the
# machine (each step below waits long enough for a list of thousands of traces to load).
WAIT_S = 120.0
SERVER_SPAN = f"POST {ANALYZE_ROUTE}"
_ROWS_JS = """rows => rows.map(r => ({
    spanId: r.dataset.spanId,
    name: r.querySelector('.waterfall-row__title').textContent.trim(),
    service: r.querySelector('.waterfall-row__td-service').textContent.trim(),
    level: Number(r.getAttribute('aria-level')),
    visible: getComputedStyle(r).visibility === 'visible',
}))"""


@dataclass(frozen=True)
class Row:
    """One row of the viewer's waterfall, with its parent read from the tree levels."""

    span_id: str
    name: str
    service: str
    level: int
    visible: bool
    parent: Row | None


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A fresh tab of the session's browser."""
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


def _rows(page: Page) -> list[Row]:
    """The waterfall rows in tree order; a row's parent is the nearest row above it one
    level up (the table is the span tree in depth-first order)."""
    raw: list[dict[str, Any]] = page.eval_on_selector_all("tr.waterfall-row", _ROWS_JS)
    rows: list[Row] = []
    stack: list[Row] = []
    for r in raw:
        while stack and stack[-1].level >= r["level"]:
            stack.pop()
        row = Row(r["spanId"], r["name"], r["service"], r["level"], r["visible"], None)
        row = Row(**{**row.__dict__, "parent": stack[-1] if stack else None})
        rows.append(row)
        stack.append(row)
    return rows


def _ancestors(row: Row) -> list[str]:
    names = []
    node = row.parent
    while node is not None:
        names.append(node.name)
        node = node.parent
    return names


def _missing_from_tree(rows: list[Row], service: str) -> list[str]:
    """What the analyze request's span tree still lacks in the waterfall (empty: all)."""
    missing = []
    roots = [r for r in rows if r.parent is None]
    if [(r.name, r.service) for r in roots] != [(SERVER_SPAN, service)]:
        missing.append(f"one root: the FastAPI server span of {service}")
    under_root = [r for r in rows if _ancestors(r)[-1:] == [SERVER_SPAN]]
    feed = [r for r in under_root if r.name == "GET /telemetry/{satellite_id}"]
    if not any(
        r.parent and r.parent.parent and r.parent.parent.name.startswith("astra.retry.attempt")
        for r in feed
    ):
        missing.append("the requests client span (with the feed's server span under it)")
    redis = {r.name for r in under_root if _ancestors(r)[0].startswith("astra.memory_engine.")}
    if not {"GET", "SET"} <= redis:
        missing.append("Redis GET and SET spans")
    if not any(r.name.startswith("INSERT") for r in under_root):
        missing.append("an SQLAlchemy INSERT span")
    return missing


def _appears(locator: Locator, timeout_s: float = 10.0, state: str = "visible") -> bool:
    """True once ``locator`` is there (within ``timeout_s``), False if it is not yet."""
    try:
        locator.wait_for(state=state, timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        return False
    return True


def _search(page: Page, query: str) -> None:
    """Type ``query`` into the page's search box and submit it, as a person would."""
    editor = page.locator(".cm-content").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(query)
    page.keyboard.press("Enter")


def _expand_all(page: Page) -> None:
    """Open every subtree the viewer collapsed on its own (it folds large subtrees)."""
    for _ in range(50):  # bounded: each click opens one subtree
        collapsed = page.locator("tr.waterfall-row button.gutter__btn--collapsed")
        visible = [b for b in collapsed.all() if b.is_visible()]
        if not visible:
            return
        visible[0].click()


def _click(locator: Locator) -> bool:
    """Click ``locator`` once it is there; False if it is not, or the list re-rendered
    under the pointer (a search result replacing the full list)."""
    if not _appears(locator):
        return False
    try:
        locator.click(timeout=10_000)
    except PlaywrightTimeout:
        return False
    return True


def _found_by_search(page: Page, url: str, query: str, card_text: str) -> bool:
    """Load ``url`` (a list page: the viewer lists what it has at load time), search for
    ``query`` and click the card showing ``card_text``; False if there is none yet."""
    page.goto(url)
    _search(page, query)
    return _click(page.locator("button.signal-row", has_text=card_text).first)


def _open_trace_from_list(page: Page, viewer_url: str, trace_id: str) -> list[Row] | None:
    """Search the trace list for ``trace_id``, click its card, return its waterfall rows
    (None while the viewer has not got the trace yet)."""
    query = f"traceID = {trace_id}"
    if not _found_by_search(page, f"{viewer_url}/traces", query, trace_id):
        return None
    page.wait_for_url(f"**/traces/{trace_id}**", timeout=15_000)
    if not _appears(page.locator("tr.waterfall-row").first, 15.0):
        return None
    _expand_all(page)
    return _rows(page)


def test_viewer_shows_the_demo_trace_as_a_span_tree(
    page: Page, stack: RunningStack, demo: DemoService, analyzed: Analyzed, screenshots: Path
) -> None:
    """After demo traffic the viewer's trace list finds the request's trace; opened, its
    waterfall is the span tree: the FastAPI server span at the root and, under it, the
    requests client span (the feed's server span below it), Redis and SQLAlchemy spans;
    a Redis span's attribute panel says so."""

    def listed() -> bool | None:
        page.goto(f"{stack.viewer_url}/traces")
        return _appears(page.locator("button.signal-row").first, 15.0) or None

    wait_for(listed, "a trace in the viewer's list", timeout=WAIT_S)
    page.screenshot(path=screenshots / "viewer-traces.png")
    last: list[Row] = []

    def complete() -> list[Row] | None:
        nonlocal last
        last = _open_trace_from_list(page, stack.viewer_url, analyzed.trace_id) or []
        return last if last and not _missing_from_tree(last, demo.service_name) else None

    try:
        rows = wait_for(complete, "the complete trace in the viewer", timeout=WAIT_S)
    except TimeoutError:
        seen = [(r.level, r.name) for r in last]
        pytest.fail(f"missing {_missing_from_tree(last, demo.service_name)}; rows {seen}")
    assert all(r.visible for r in rows), "every span of the tree is shown"
    assert len({r.span_id for r in rows}) == len(rows), "no span twice"
    redis_get = next(
        r for r in rows if r.name == "GET" and _ancestors(r)[0].startswith("astra.memory_engine")
    )
    page.locator(f'tr.waterfall-row[data-span-id="{redis_get.span_id}"]').click()
    page.wait_for_url(f"**span={redis_get.span_id}**", timeout=15_000)
    attribute = re.compile(r"db\.system\.name \(string\):\s*redis")

    def panel_says_redis() -> bool | None:
        return bool(attribute.search(page.locator("body").inner_text(timeout=15_000))) or None

    wait_for(panel_says_redis, "db.system.name: redis in the span's panel", timeout=30)
    page.locator(f'tr.waterfall-row[data-span-id="{rows[0].span_id}"]').click()
    page.screenshot(path=screenshots / "viewer-trace.png")


def test_request_log_line_carries_the_trace_and_links_to_it(
    page: Page, stack: RunningStack, analyzed: Analyzed, screenshots: Path
) -> None:
    """The logs view finds the request's log line by its trace id; its detail shows that
    trace id as a link, which opens the same trace's waterfall."""
    line = f"{SERVER_SPAN} -> 200"

    link = page.locator("a", has_text=analyzed.trace_id)

    def found() -> bool | None:
        query = f"traceID = {analyzed.trace_id}"
        clicked = _found_by_search(page, f"{stack.viewer_url}/logs", query, line)
        # The card clicked may be another request's line if the search had not applied
        # yet: only the detail's trace id link tells.
        return (clicked and _appears(link)) or None

    wait_for(found, "the request's log line in the viewer", timeout=WAIT_S)
    assert page.get_by_text(line).count() >= 1
    page.screenshot(path=screenshots / "viewer-log.png")
    link.click()
    page.wait_for_url(f"**/traces/{analyzed.trace_id}**", timeout=15_000)
    root = page.locator("tr.waterfall-row").first
    root.wait_for(timeout=10_000)
    assert root.locator(".waterfall-row__title").inner_text().strip() == SERVER_SPAN


def _exemplar_links(stack: RunningStack, service: str) -> list[str] | None:
    """The viewer links ``astra-otel stack exemplars`` prints for ``service`` (None: none
    yet), run as a person would, against the session's stack."""
    env = {
        **environ_snapshot(),
        "ASTRA_OTEL_STATE_DIR": str(stack.state_dir),
        "ASTRA_OTEL_STACK_PORT_OFFSET": str(stack.port_offset),
    }
    result = subprocess.run(
        [sys.executable, "-m", "astra_otel.cli", "stack", "exemplars", "--service", service],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    prefix = f"{stack.viewer_url}/traces/"
    links = [ln.strip() for ln in result.stdout.splitlines() if ln.strip().startswith(prefix)]
    return links or None


def _viewer_has(stack: RunningStack, trace_id: str) -> bool:
    body = {"jsonrpc": "2.0", "id": 1, "method": "getTraceSpanCount", "params": [trace_id]}
    resp = requests.post(f"{stack.viewer_url}/rpc", json=body, timeout=30)
    return bool(resp.ok and resp.json().get("result"))


def test_exemplar_links_open_their_trace_in_the_viewer(
    page: Page, stack: RunningStack, demo: DemoService
) -> None:
    """`astra-otel stack exemplars` turns Prometheus' exemplars into viewer links (the
    documented pattern, /traces/<trace_id>?span=<span_id>); the slowest one opens that
    trace with that span selected."""
    links = wait_for(
        lambda: _exemplar_links(stack, demo.service_name), "an exemplar link", timeout=WAIT_S
    )
    # The viewer is best effort: under the whole suite's load it may have dropped a trace
    # (counted by the collector), so take the slowest exemplar whose trace it holds.
    held = [u for u in links if _viewer_has(stack, u.split("/traces/")[1].split("?")[0])]
    assert held, f"none of the exemplars' traces is in the viewer: {links}"
    url = held[0]
    match = re.fullmatch(r".*/traces/([0-9a-f]{32})\?span=([0-9a-f]{16})", url)
    assert match, url
    span_id = match.group(2)

    def selected() -> bool | None:
        page.goto(url)
        row = page.locator(f'tr.waterfall-row[data-span-id="{span_id}"]')
        if not _appears(row, 15.0, state="attached"):
            return None
        return row.get_attribute("aria-selected") == "true" or None

    assert wait_for(selected, "the exemplar's span selected in the viewer", timeout=WAIT_S)


def test_prometheus_classic_ui_lists_the_alert_rules(
    page: Page, stack: RunningStack, screenshots: Path
) -> None:
    """Debian's Prometheus 2.42 serves its UI under /classic/: the alerts page lists every
    alert rule of dashboards/prometheus/, the graph page draws a demo metric."""
    names = {
        rule["alert"]
        for path in sorted((REPO / "dashboards" / "prometheus").glob("*.rules.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert names
    page.goto(f"{stack.prometheus_url}/classic/alerts")
    text = page.locator("body").inner_text()
    assert sorted(n for n in names if n not in text) == []
    page.screenshot(path=screenshots / "prometheus-alerts.png", full_page=False)
    page.goto(
        f"{stack.prometheus_url}/classic/graph?g0.expr="
        "sum%20by%20(http_route)%20(rate(http_server_request_duration_seconds_count[1m]))"
        "&g0.tab=0&g0.range_input=5m"
    )
    page.locator("#graph_container, .graph_container, svg").first.wait_for(timeout=15_000)
    page.screenshot(path=screenshots / "prometheus-graph.png")
