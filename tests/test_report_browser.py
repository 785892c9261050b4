"""``kamopt report`` in a real browser: headless Chromium (Debian's ``chromium`` package, which
``make test`` installs), driven through its command line, with no Python browser library.

Each test copies a report and adds a probe script at the top of its ``<head>``. The probe
records console errors, uncaught errors, Content-Security-Policy violations (the page's CSP
turns any network reference into one) and every resource the page fetched; on load it
measures each chart, clicks portfolio headers and reads the rows back, types in a filter
box, and writes what it found as JSON into ``<pre id="kamopt-test-result">``. Chromium's
``--dump-dom`` prints the resulting DOM; its own log (``--enable-logging=stderr``) is
searched for console lines too.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import EVIL, big_plan, copy_plan, report_inputs

import kamopt

PROBE = r"""<script>
(function () {
  "use strict";
  var errors = [];
  var original = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
  window.addEventListener("error", function (e) { errors.push("uncaught: " + e.message); });
  document.addEventListener("securitypolicyviolation", function (e) {
    errors.push("csp: " + e.violatedDirective + " " + e.blockedURI);
  });

  function column(table, key) {
    var th = table.querySelector('th[data-key="' + key + '"]');
    return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      var c = row.cells[th.cellIndex];
      var v = c.getAttribute("data-v");
      return v === null ? c.textContent : (v === "" ? null : parseFloat(v));
    });
  }

  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});

  function disorder(values, descending) {
    /* adjacent pairs out of order (texts by the collator, blanks last) */
    var bad = 0;
    for (var i = 1; i < values.length; i++) {
      var a = values[i - 1], b = values[i];
      if (a === null) { bad += b !== null ? 1 : 0; continue; }
      if (b === null) { continue; }
      var c = typeof a === "string" ? collator.compare(a.trim(), b.trim()) : (a < b ? -1 : a > b ? 1 : 0);
      if (descending ? c < 0 : c > 0) { bad++; }
    }
    return bad;
  }

  function click(table, key) {
    var th = table.querySelector('th[data-key="' + key + '"]');
    var start = performance.now();
    th.click();
    void document.body.offsetHeight;  /* the layout after the sort counts too */
    return {ms: performance.now() - start, aria: th.getAttribute("aria-sort")};
  }

  window.addEventListener("load", function () {
    var out = {errors: errors, charts: [], sorts: []};
    try {
      Array.prototype.forEach.call(document.querySelectorAll("svg.chart"), function (svg) {
        var r = svg.getBoundingClientRect();
        var shapes = svg.querySelectorAll("rect,circle,path").length;
        out.charts.push({id: svg.id, width: r.width, height: r.height, shapes: shapes});
      });
      var table = document.getElementById("portfolio-table");
      function visible() {
        return Array.prototype.filter.call(table.tBodies[0].rows, function (r) { return !r.hidden; }).length;
      }
      if (table) {
        out.rows = table.tBodies[0].rows.length;
        out.visible = visible();
        var more = document.querySelector('button.more[data-table="portfolio-table"]');
        if (more) {
          var start = performance.now();
          more.click();
          void document.body.offsetHeight;
          out.more_ms = performance.now() - start;
          out.visible_after_more = visible();
        }
        ["expected_value", "expected_value", "name", "name"].forEach(function (key) {
          var c = click(table, key);
          var values = column(table, key);
          out.sorts.push({key: key, ms: c.ms, aria: c.aria, values: values,
                          disorder: disorder(values, c.aria === "descending")});
        });
        var input = document.querySelector('input.filter[data-table="portfolio-table"]');
        var first = table.tBodies[0].rows[0].cells[0].textContent;
        input.value = first;
        input.dispatchEvent(new Event("input"));
        out.filtered = visible();
        out.filter_count = document.getElementById("portfolio-count").textContent;
      }
      out.xss = window.__xss || 0;
      out.fetched = performance.getEntriesByType("resource").map(function (e) { return e.name; });
      out.title = document.title;
    } catch (e) {
      errors.push("probe: " + e.message);
    }
    var pre = document.createElement("pre");
    pre.id = "kamopt-test-result";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  });
})();
</script>"""

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions", "--enable-logging=stderr", "--v=0",
                  "--window-size=1280,1000", "--virtual-time-budget=5000", "--dump-dom"]


def chromium() -> str:
    """The browser, or a failure that says how to get it (the test must not skip)."""
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium); "
                    "the report's browser tests need it", pytrace=False)
    return found


def browse(report: Path, work: Path) -> tuple[dict, list[str]]:
    """Open a report with the probe in headless Chromium; (the probe's findings, console log lines)."""
    text = report.read_text(encoding="utf-8")
    anchor = re.search(r'<meta http-equiv="Content-Security-Policy"[^>]*>', text)
    assert anchor, "the page has no Content-Security-Policy"
    probed = work / "probed.html"
    probed.write_text(text[: anchor.end()] + PROBE + text[anchor.end():], encoding="utf-8")
    profile = work / "profile"
    result = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", probed.as_uri()],
                            capture_output=True, text=True, timeout=60)
    m = re.search(r'<pre id="kamopt-test-result">(.*?)</pre>', result.stdout, re.S)
    assert m, f"the probe gave no result (exit {result.returncode}): {result.stderr[-2000:]}"
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    return json.loads(html.unescape(m.group(1))), console


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return report_inputs(tmp_path_factory)


@pytest.fixture(scope="module")
def full(inputs, tmp_path_factory) -> tuple[dict, list[str], Path]:
    """The report with every section (plan, comparison, frontier), as the browser sees it."""
    work = tmp_path_factory.mktemp("browser-full")
    report = kamopt.write_report(inputs["compare"], work / "report.html", frontier=inputs["frontier"])
    found, console = browse(report, work)
    return found, console, report


def assert_sorted(sort: dict, descending: bool) -> None:
    """The column read back after a click is in order: numbers checked here (blanks last), texts
    by the browser's collator (the probe counts adjacent pairs out of order)."""
    assert sort["aria"] == ("descending" if descending else "ascending")
    assert sort["disorder"] == 0
    values = sort["values"]
    present = [v for v in values if v is not None]
    assert values[: len(present)] == present, "blanks must come last"
    if present and not isinstance(present[0], str):
        assert present == sorted(present, reverse=descending)


def test_the_page_loads_without_console_errors_or_network(full):
    found, console, _ = full
    assert found["errors"] == []
    assert console == []
    assert found["fetched"] == []  # nothing was loaded from anywhere
    assert found["title"].startswith("Key account plan")


def test_every_chart_renders_with_a_size(full):
    found, _, _ = full
    ids = [c["id"] for c in found["charts"]]
    assert ids == ["chart-tier-mix", "chart-utilisation", "chart-compare", "chart-frontier"]
    for c in found["charts"]:
        assert c["width"] > 200 and c["height"] > 40, c
        assert c["shapes"] > 2, c


def test_sorting_a_column_works_both_ways(full, inputs):
    found, _, _ = full
    summary = json.loads((inputs["plan"] / "summary.json").read_text(encoding="utf-8"))
    assert found["rows"] == found["visible"] == summary["key_accounts"]
    (up, down, name_up, name_down) = found["sorts"]
    assert_sorted(up, descending=False)
    assert_sorted(down, descending=True)
    assert sorted(v for v in up["values"] if v is not None) == sorted(v for v in down["values"] if v is not None)
    assert up["values"][0] < up["values"][-1]  # a real sort, not a constant column
    assert_sorted(name_up, descending=False)
    assert_sorted(name_down, descending=True)
    assert name_up["values"] != name_down["values"]


def test_the_filter_box_narrows_the_portfolio(full):
    found, _, _ = full
    assert found["filtered"] >= 1 and found["filtered"] < found["rows"]
    assert found["filter_count"] == str(found["filtered"])


def test_data_cannot_run_script_in_the_page(inputs, tmp_path):
    folder = copy_plan(inputs["plan"], tmp_path / "plan")
    for name in ("portfolio.csv", "excluded.csv", "sponsorship.csv"):
        path = folder / name
        text = path.read_text(encoding="utf-8")
        first_name = text.splitlines()[1].split(",")[1]
        path.write_text(text.replace(first_name, EVIL[0] if name != "excluded.csv" else EVIL[1]), encoding="utf-8")
    report = kamopt.write_report(folder, tmp_path / "r.html")
    found, console = browse(report, tmp_path)
    assert found["xss"] == 0
    assert found["errors"] == [] and console == []


def test_a_20000_account_portfolio_pages_and_sorts(inputs, tmp_path):
    report = kamopt.write_report(big_plan(inputs["plan"], tmp_path / "big"), tmp_path / "big.html")
    found, console = browse(report, tmp_path)
    assert found["errors"] == [] and console == []
    assert found["rows"] == 20_000
    assert found["visible"] == 1000 and found["visible_after_more"] == 2000  # long tables show 1,000 rows at a time
    for sort, descending in zip(found["sorts"], (False, True, False, True)):
        assert_sorted(sort, descending)
