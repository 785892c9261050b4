"""``kamopt report``: the HTML page's content checked structurally, against the plan's own files.

The page is parsed with the standard library: its headline numbers carry their summary.json
value (``data-key`` / ``data-value``), so each is compared with the file exactly, and its
shown text with the expected formatting. The browser behaviour (console, charts, sorting)
is tested in test_report_browser.py.
"""

from __future__ import annotations

import csv
import html
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import kamopt
from kamopt.cli import main
from kamopt.errors import DataError, OutputError
from kamopt.generate import generate
from kamopt.report import html as report_html
from kamopt.report.html_assets import number

ROOT = Path(__file__).parent.parent
POLICY = ROOT / "policies" / "default.yaml"
SCENARIOS = ROOT / "scenarios"
MINI = Path(__file__).parent / "data" / "mini"
EVIL = ['<script>window.__xss = 1</script>', '"><img src=x onerror="window.__xss = 2">']


def report_inputs(tmp_path_factory) -> dict[str, Path]:
    """The folders the report tests read, made once per session and shared by both report test
    modules: a comparison of the sample policy with one scenario (its ``base/`` is the plan), a
    frontier over a small generated instance, and an infeasible plan."""
    root = tmp_path_factory.getbasetemp() / "report-inputs"
    folders = {"compare": root / "compare", "plan": root / "compare" / "base", "frontier": root / "frontier",
               "infeasible": root / "infeasible"}
    if (root / "done").exists():
        return folders
    root.mkdir(exist_ok=True)
    cmp = kamopt.compare(POLICY, [SCENARIOS / "hiring-freeze.yaml"], folders["compare"], workers=2, force=True)
    assert cmp.exit_code == 0
    generate(200, 3, root / "g200")
    kamopt.frontier(root / "g200" / "policy.yaml", "portfolio.key_accounts.max", [20, 22, 24, 26, 28, 30],
                    folders["frontier"], workers=2, force=True)
    loaded = kamopt.load_policy(MINI / "policy.yaml", ["portfolio.key_accounts.min=3",
                                                       "resources.kam_pools.all.fte=0.5"])
    kamopt.write_plan(kamopt.solve(loaded), folders["infeasible"], force=True)
    (root / "done").touch()
    return folders


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return report_inputs(tmp_path_factory)


@pytest.fixture(scope="module")
def page(inputs, tmp_path_factory) -> str:
    """The report of the sample plan alone."""
    out = kamopt.write_report(inputs["plan"], tmp_path_factory.mktemp("page") / "report.html")
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def summary(inputs) -> dict:
    return json.loads((inputs["plan"] / "summary.json").read_text(encoding="utf-8"))


def facts(text: str) -> list[tuple[str, object, str]]:
    """Every headline number: (key, exact value, shown text)."""
    found = re.findall(r'<span class="fact" data-key="([^"]*)" data-value="([^"]*)">(.*?)</span>', text)
    return [(html.unescape(k), json.loads(html.unescape(v)), html.unescape(shown)) for k, v, shown in found]


def table_rows(text: str, table_id: str) -> list[list[str]]:
    """The body rows of a table, each cell's text (tags removed, entities decoded)."""
    m = re.search(rf'<table[^>]* id="{table_id}"[^>]*>.*?<tbody>(.*?)</tbody>', text, re.S)
    assert m, f"no table {table_id}"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)]
            for r in rows]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def copy_plan(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def edit_summary(folder: Path, **changes) -> None:
    path = folder / "summary.json"
    s = json.loads(path.read_text(encoding="utf-8"))
    s.update(changes)
    path.write_text(json.dumps(s, indent=2, ensure_ascii=False), encoding="utf-8")


def run(*args) -> object:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


# --------------------------------------------------------------------------- structure and numbers


def test_every_section_of_a_plan_is_present_in_order(page):
    ids = re.findall(r'<section id="([^"]+)"', page)
    assert ids == ["tiers", "utilisation", "sponsorship", "changes", "portfolio", "excluded", "about"]
    assert 'id="status"' in page and 'id="headline"' in page
    for anchor in ids:
        assert f'href="#{anchor}"' in page  # the menu links every section


def test_headline_numbers_equal_summary_json(page, summary):
    shown = {key: (value, text) for key, value, text in facts(page)}
    expected = {"objective": summary["objective"], "annual_cost": summary["annual_cost"],
                "budget": summary["budget"], "key_accounts": summary["key_accounts"], "gap": summary["gap"],
                "hires_total": sum(summary["hires"].values()), "accounts": summary["accounts"],
                "candidates": summary["candidates"], "excluded": summary["excluded"],
                "greedy_objective": summary["greedy_objective"],
                "optimum_vs_greedy_pct": summary["optimum_vs_greedy_pct"],
                "policy_sha256": summary["policy_sha256"], "data_sha256": summary["data_sha256"]}
    expected.update({f"tiers.{t}": n for t, n in summary["tiers"].items()})
    expected.update({f"changes.{c}": summary["changes"][c] for c in ("promote", "keep", "demote")})
    expected.update({f"hires.{p}": n for p, n in summary["hires"].items() if n})
    for key, value in expected.items():
        assert key in shown, key
        assert shown[key][0] == value, key
    # and the figures a reader sees are those values, formatted
    assert shown["objective"][1] == f"{summary['objective']:,.0f}"
    assert shown["annual_cost"][1] == f"{summary['annual_cost']:,.0f}"
    assert shown["key_accounts"][1] == str(summary["key_accounts"])
    assert shown["gap"][1] == f"{100 * summary['gap']:.3g} %"
    assert shown["policy_sha256"][1] == summary["policy_sha256"]
    for t, n in summary["tiers"].items():
        assert shown[f"tiers.{t}"][1] == str(n)
    # every fact on the page is one of summary.json's values
    for key, value, _ in facts(page):
        path = key.split(".", 1)
        if key == "hires_total":
            continue
        got = summary[path[0]] if len(path) == 1 else summary[path[0]][path[1]]
        assert got == value, key


def test_status_is_stated_with_its_gap(page, summary):
    assert summary["status"] == "optimal"
    assert f'data-status="{summary["status"]}"' in page
    assert "Optimal plan" in page and "Proven optimal within a relative gap of" in page
    assert "Independent check: <strong>passed</strong>" in page
    for name in summary["soft_violations"]:
        assert html.escape(name) in page


def test_tables_agree_with_the_plan_files(page, summary, inputs):
    portfolio = table_rows(page, "portfolio-table")
    assert len(portfolio) == summary["key_accounts"]
    tiers = [row[2] for row in portfolio]
    for t, n in summary["tiers"].items():
        assert tiers.count(t) == n
    # best tier first, then by expected value
    order = list(summary["tiers"])
    assert tiers == sorted(tiers, key=order.index)
    assert re.search(r'<span id="portfolio-count">(\d+)</span>', page).group(1) == str(summary["key_accounts"])
    tier_table = {row[0]: row for row in table_rows(page, "tier-table")}
    for t, n in summary["tiers"].items():
        assert tier_table[t][1] == str(n)
    excluded = table_rows(page, "excluded-table")
    assert len(excluded) == summary["excluded"] == len(csv_rows(inputs["plan"] / "excluded.csv"))
    reasons = table_rows(page, "excluded-reasons")
    assert sum(int(r[1]) for r in reasons) == summary["excluded"]
    sponsorship = csv_rows(inputs["plan"] / "sponsorship.csv")
    for r in sponsorship:
        assert html.escape(r["sponsor"]) in page and html.escape(r["account_name"]) in page
    resources = csv_rows(inputs["plan"] / "resources.csv")
    assert len(table_rows(page, "resources-table")) == len(resources)


def test_changes_match_the_current_portfolio(page, summary, inputs):
    moved = table_rows(page, "changes-table")
    assert len(moved) == summary["changes"]["promote"] + summary["changes"]["demote"]
    grid = table_rows(page, "transition-table")
    cells = [int(c) if c.strip().replace(",", "").isdigit() else 0 for row in grid for c in row[1:]]
    assert sum(cells) == summary["accounts"]


def test_marginal_values_of_the_plan_are_shown(page, summary):
    items = summary.get("marginal_values")
    if not items:  # a plan made before marginal values existed
        assert "Marginal values were not computed for this plan." in page
        return
    rows = table_rows(page, "marginal-all-table")
    assert [r[0] for r in rows] == [m["item"] for m in items]
    for row, m in zip(rows, items):
        assert row[5] == (number(m["lp_estimate"]) if m["lp_estimate"] is not None else "not computed")
        if m["marginal_value"] is not None:
            assert row[4].startswith(number(m["marginal_value"]))


def test_marginal_values_show_not_computed_when_absent(inputs, tmp_path):
    folder = copy_plan(inputs["plan"], tmp_path / "plan")
    edit_summary(folder, marginal_values=None)
    header, *rows = list(csv.reader(open(folder / "resources.csv", encoding="utf-8", newline="")))
    keep = [j for j, h in enumerate(header) if h in ("constraint", "family", "resource", "limit", "used", "slack",
                                                     "unit", "hires", "binding")]
    with open(folder / "resources.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([[r[j] for j in keep] for r in [header, *rows]])
    text = kamopt.write_report(folder, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Marginal values were not computed for this plan." in text
    assert "not computed" in "".join(c for row in table_rows(text, "resources-table") for c in row)
    assert "binding-table" in text


def test_exact_marginal_values_and_their_range_are_shown(inputs, tmp_path):
    folder = copy_plan(inputs["plan"], tmp_path / "plan")
    item = {"item": "kam_fte[Iberia]", "kind": "kam_fte", "limit": 2.0, "step": 1.0, "unit": "FTE", "direction": 1,
            "rows": [], "binding": True, "lp_estimate": 400000.0, "marginal_value": 123456.0,
            "marginal_low": 120000.0, "marginal_high": 125000.0, "status": "optimal"}
    edit_summary(folder, marginal_values=[item, {**item, "item": "budget", "unit": "money", "step": 10000.0,
                                              "marginal_value": None, "status": "not_binding", "binding": False}])
    text = kamopt.write_report(folder, tmp_path / "r.html").read_text(encoding="utf-8")
    rows = {r[0]: r for r in table_rows(text, "marginal-all-table")}
    assert rows["kam_fte[Iberia]"][1:5] == ["2 FTE", "+1 FTE", "yes", "123,456 (120 k to 125 k)"]
    assert rows["budget"][4] == "0 (has slack)" and rows["budget"][2] == "+10,000 EUR"
    assert "+1 FTE: 123 k EUR" in text  # beside the pool's bar


# --------------------------------------------------------------------------- honesty about the status


def test_infeasible_plan_shows_the_diagnosis_and_no_portfolio(inputs, tmp_path):
    summary = json.loads((inputs["infeasible"] / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "infeasible" and summary["diagnosis"]
    text = kamopt.write_report(inputs["infeasible"], tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No plan: the policy cannot be met" in text and 'data-status="infeasible"' in text
    for line in summary["diagnosis"]:
        assert html.escape(line) in text
    assert "portfolio-table" not in text and 'id="headline"' not in text
    assert re.findall(r'<section id="([^"]+)"', text) == ["excluded", "about"]


def test_feasible_plan_states_its_gap_and_bound(inputs, tmp_path):
    folder = copy_plan(inputs["plan"], tmp_path / "plan")
    edit_summary(folder, status="feasible", gap=0.0234, bound=17000000.0, objective=16600000.0, time_limit=30.0)
    text = kamopt.write_report(folder, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Feasible plan, not proven optimal" in text
    assert "stopped at its time limit (30 s)" in text and ">2.34 %<" in text
    assert "worth at most 400,000 EUR more" in text
    assert "Optimal plan" not in text


def test_time_limit_without_a_plan_is_not_called_infeasible(inputs, tmp_path):
    folder = copy_plan(inputs["infeasible"], tmp_path / "plan")
    edit_summary(folder, status="time_limit_no_solution", diagnosis=[], time_limit=60.0)
    text = kamopt.write_report(folder, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No plan: the time limit was reached first" in text
    assert "does not mean the policy is infeasible" in text
    assert "cannot be met" not in text


def test_a_plan_that_breaks_rules_lists_them(inputs, tmp_path):
    folder = copy_plan(inputs["plan"], tmp_path / "plan")
    edit_summary(folder, status="rules_broken", method="greedy", verified=False,
                 violations=["quota_min[latam_presence]: has 3 accounts, needs at least 4 (1 short)"])
    text = kamopt.write_report(folder, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "This plan breaks hard rules" in text and "The greedy plan breaks 1 hard rule, listed below." in text
    assert "<li>quota_min[latam_presence]: has 3 accounts, needs at least 4 (1 short)</li>" in text
    assert "Independent check: <strong>1 hard rule broken</strong>" in text


# --------------------------------------------------------------------------- safety and reproducibility


def test_text_from_the_data_is_escaped(inputs, tmp_path):
    folder = copy_plan(inputs["plan"], tmp_path / "plan")
    portfolio = csv_rows(folder / "portfolio.csv")
    key = next(r for r in portfolio if r["decision"] != "none" and r["sponsor"])
    old_name = key["name"]
    for name in ("portfolio.csv", "sponsorship.csv", "changes.csv", "excluded.csv"):
        path = folder / name
        if path.exists():
            path.write_text(path.read_text(encoding="utf-8").replace(old_name, EVIL[0]), encoding="utf-8")
    excluded = folder / "excluded.csv"
    rows = list(csv.reader(open(excluded, encoding="utf-8", newline="")))
    rows[1][1], rows[1][2] = EVIL[1], "'=HYPERLINK(\"x\")" + EVIL[0]
    with open(excluded, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    edit_summary(folder, policy="<b>policy</b>", diagnosis=["<i>"])
    text = kamopt.write_report(folder, tmp_path / "r.html").read_text(encoding="utf-8")
    for evil in EVIL + ["<b>policy</b>"]:
        assert evil not in text
        assert html.escape(evil) in text
    assert "<script>" in text and text.count("<script>") == 1  # only the page's own script
    assert "onerror=" not in text.replace(html.escape('onerror="'), "")
    # the spreadsheet guard of the CSV files is undone for the page: the reason shows as written
    assert html.escape('=HYPERLINK("x")') in text and html.escape("'=HYPERLINK") not in text


def test_same_folders_give_the_same_bytes(inputs, tmp_path):
    a = kamopt.write_report(inputs["compare"], tmp_path / "a.html", frontier=inputs["frontier"]).read_bytes()
    b = kamopt.write_report(inputs["compare"], tmp_path / "b.html", frontier=inputs["frontier"]).read_bytes()
    moved = copy_plan(inputs["plan"], tmp_path / "elsewhere" / "plan")
    c = kamopt.write_report(moved, tmp_path / "c.html").read_bytes()
    d = kamopt.write_report(inputs["plan"], tmp_path / "d.html").read_bytes()
    assert a == b
    assert c == d  # no paths in the page


def test_the_page_references_nothing_outside_itself(inputs, tmp_path):
    text = kamopt.write_report(inputs["compare"], tmp_path / "r.html", frontier=inputs["frontier"]).read_text("utf-8")
    assert "http://" not in text and "https://" not in text and "//" not in re.sub(r"<script>.*?</script>", "", text,
                                                                                  flags=re.S)
    assert re.findall(r'\b(?:src|href)="([^"]*)"', text) == [a for a in re.findall(r'href="(#[^"]*)"', text)]
    assert "@import" not in text and "url(" not in text
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', text).group(1)
    assert "default-src 'none'" in csp


# --------------------------------------------------------------------------- compare and frontier


def test_compare_folder_as_plan_reports_the_base_and_the_scenarios(inputs, tmp_path):
    text = kamopt.write_report(inputs["compare"], tmp_path / "r.html").read_text(encoding="utf-8")
    base = kamopt.write_report(inputs["plan"], tmp_path / "base.html").read_text(encoding="utf-8")
    assert facts(text) == facts(base)
    assert re.findall(r'<section id="([^"]+)"', text)[-2:] == ["scenarios", "about"]
    runs = csv_rows(inputs["compare"] / "comparison.csv")
    head = re.search(r'<table class="data compact" id="compare-table"><thead><tr>(.*?)</tr>', text, re.S).group(1)
    assert [html.unescape(h) for h in re.findall(r'<th scope="col" class="n">(.*?)</th>', head)] == \
        [r["scenario"] for r in runs]
    grid = {row[0]: row[1:] for row in table_rows(text, "compare-table")}
    assert grid["Expected net value"] == [f"{float(r['objective']):,.0f}" for r in runs]
    assert grid["Key accounts"] == [r["key_accounts"] for r in runs]
    assert len(table_rows(text, "compare-changes")) == len(csv_rows(inputs["compare"] / "changes.csv"))
    # --compare given explicitly with a plan folder says the same
    again = kamopt.write_report(inputs["plan"], tmp_path / "r2.html", compare=inputs["compare"]).read_text("utf-8")
    assert again == text


def test_frontier_section_shows_every_point_and_the_recommendation(inputs, tmp_path):
    text = kamopt.write_report(inputs["plan"], tmp_path / "r.html", frontier=inputs["frontier"]).read_text("utf-8")
    points = csv_rows(inputs["frontier"] / "frontier.csv")
    info = json.loads((inputs["frontier"] / "frontier.json").read_text(encoding="utf-8"))
    rows = table_rows(text, "frontier-table")
    assert [r[0] for r in rows] == [f"{float(p['value']):g}" for p in points]
    assert [r[2] for r in rows] == [f"{float(p['objective']):,.0f}" if p["objective"] else "—" for p in points]
    solved = sum(1 for p in points if p["objective"])
    svg = re.search(r'<svg class="chart" id="chart-frontier".*?</svg>', text, re.S).group(0)
    assert svg.count('class="ch-point"') == solved
    assert f"Recommended: {info['recommended_value']:g}" in text and html.escape(info["reason"]) in text
    assert [e["value"] for e in info["infeasible_edges"]] == [20]  # where the policy stops being feasible
    for edge in info["infeasible_edges"]:
        assert edge["diagnosis"]
        assert f"Infeasible at {edge['value']:g}: {html.escape(' '.join(edge['diagnosis']))}</p>" in text


def test_every_chart_is_inline_svg_with_a_size(inputs, tmp_path):
    text = kamopt.write_report(inputs["compare"], tmp_path / "r.html", frontier=inputs["frontier"]).read_text("utf-8")
    charts = re.findall(r'<svg class="chart" id="([^"]+)"[^>]* width="([\d.]+)" height="([\d.]+)"', text)
    assert [c[0] for c in charts] == ["chart-tier-mix", "chart-utilisation", "chart-compare", "chart-frontier"]
    assert all(float(w) > 300 and float(h) > 60 for _, w, h in charts)


# --------------------------------------------------------------------------- command line


def test_cli_writes_the_report_and_refuses_to_overwrite_without_force(inputs, tmp_path):
    out = tmp_path / "deep" / "report.html"
    r = run("report", inputs["plan"], "--out", out)
    assert r.exit_code == 0, r.output
    assert "report written to" in r.output and out.is_file()
    first = out.read_bytes()
    out.write_text("mine", encoding="utf-8")
    r = run("report", inputs["plan"], "--out", out)
    assert r.exit_code == 2
    assert "already exists" in r.output and "--force" in r.output
    assert out.read_text(encoding="utf-8") == "mine"
    r = run("report", inputs["plan"], "--out", out, "--force")
    assert r.exit_code == 0 and out.read_bytes() == first
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temporary files left


@pytest.mark.parametrize("case, message", [
    ("missing", "no such plan folder"),
    ("empty", "is not a plan folder (it has no summary.json)"),
    ("file", "is not a folder"),
    ("corrupt", "is not valid JSON"),
    ("not_a_summary", "is not a plan summary kamopt wrote"),
    ("no_portfolio", "the plan folder has no portfolio.csv"),
    ("bad_csv", "is not a table kamopt wrote"),
    ("frontier_as_plan", "is a frontier folder, which holds no plan"),
])
def test_cli_bad_plan_folders_exit_2_with_a_located_message(inputs, tmp_path, case, message):
    plan = tmp_path / "plan"
    if case == "empty":
        plan.mkdir()
    elif case == "file":
        plan.write_text("x", encoding="utf-8")
    elif case in ("corrupt", "not_a_summary", "no_portfolio", "bad_csv"):
        copy_plan(inputs["plan"], plan)
        if case == "corrupt":
            (plan / "summary.json").write_text('{"status": "optimal",\n  "objective": }', encoding="utf-8")
        elif case == "not_a_summary":
            (plan / "summary.json").write_text('{"status": 3}', encoding="utf-8")
        elif case == "no_portfolio":
            (plan / "portfolio.csv").unlink()
        else:
            (plan / "portfolio.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    elif case == "frontier_as_plan":
        plan = inputs["frontier"]
    out = tmp_path / "r.html"
    r = run("report", plan, "--out", out)
    assert r.exit_code == 2, r.output
    assert message in r.output and "kamopt: data error" in r.output
    assert not out.exists()
    if case == "corrupt":
        assert "summary.json:2:" in r.output  # file:line:column


def test_a_summary_with_only_the_essential_fields_still_makes_a_page(tmp_path):
    plan = tmp_path / "plan"
    plan.mkdir()
    (plan / "summary.json").write_text(json.dumps({"status": "error", "tiers": {"gold": 0}, "hires": {},
                                                   "changes": {}}), encoding="utf-8")
    text = kamopt.write_report(plan, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No plan: the solver failed" in text
    assert re.findall(r'<section id="([^"]+)"', text) == ["excluded", "about"]


def test_a_summary_with_a_non_number_count_is_an_input_error(inputs, tmp_path):
    plan = copy_plan(inputs["plan"], tmp_path / "plan")
    edit_summary(plan, tiers={"gold": "eight"})
    r = run("report", plan, "--out", tmp_path / "r.html")
    assert r.exit_code == 2 and "tiers.gold: is not a number (found 'eight')" in r.output


def test_cli_bad_compare_frontier_and_out(inputs, tmp_path):
    r = run("report", inputs["plan"], "--out", tmp_path / "r.html", "--compare", inputs["plan"])
    assert r.exit_code == 2 and "is not a comparison folder" in r.output
    r = run("report", inputs["plan"], "--out", tmp_path / "r.html", "--frontier", inputs["plan"])
    assert r.exit_code == 2 and "is not a frontier folder" in r.output
    r = run("report", inputs["plan"], "--out", tmp_path / "r.html", "--frontier", tmp_path / "nope")
    assert r.exit_code == 2 and "no such frontier folder" in r.output
    r = run("report", inputs["plan"], "--out", tmp_path)
    assert r.exit_code == 2 and "is a folder; --out names the report file" in r.output
    r = run("report", "-h")
    assert r.exit_code == 0 and "Example:" in r.output


def test_api_errors_are_kamopt_errors(inputs, tmp_path):
    with pytest.raises(DataError):
        kamopt.write_report(tmp_path / "nope", tmp_path / "r.html")
    out = kamopt.write_report(inputs["plan"], tmp_path / "r.html")
    with pytest.raises(OutputError):
        kamopt.write_report(inputs["plan"], out)


def test_a_failure_while_building_leaves_the_old_report(inputs, tmp_path, monkeypatch):
    out = kamopt.write_report(inputs["plan"], tmp_path / "r.html")
    before = out.read_bytes()

    def broken(_):
        raise RuntimeError("boom")

    monkeypatch.setattr(report_html, "render", broken)
    with pytest.raises(RuntimeError):
        kamopt.write_report(inputs["plan"], out, force=True)
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


# --------------------------------------------------------------------------- scale


def big_plan(src: Path, dst: Path, accounts: int = 20_000) -> Path:
    """A plan folder with ``accounts`` key accounts (the sample's rows, repeated with new ids):
    what a 20,000-account programme's report holds, without solving one."""
    copy_plan(src, dst)
    rows = csv_rows(src / "portfolio.csv")
    keys = [r for r in rows if r["decision"] != "none"]
    with open(dst / "portfolio.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for k in range(accounts):
            r = dict(keys[k % len(keys)])
            r["account_id"] = f"B-{k:05d}"
            r["expected_value"] = f"{(k * 7919) % 1000003 - 20000:.2f}"
            writer.writerow(r)
    excluded = csv_rows(src / "excluded.csv")
    with open(dst / "excluded.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(excluded[0]), lineterminator="\n")
        writer.writeheader()
        for k in range(accounts // 2):
            writer.writerow({**excluded[k % len(excluded)], "account_id": f"X-{k:05d}"})
    return dst


def test_a_20000_account_report_holds_every_row(inputs, tmp_path):
    """Every key account is in the page (the browser pages them 1,000 at a time); its
    generation time is measured in the benchmark, not asserted here."""
    folder = big_plan(inputs["plan"], tmp_path / "big")
    text = kamopt.write_report(folder, tmp_path / "big.html").read_text(encoding="utf-8")
    assert len(table_rows(text, "portfolio-table")) == 20_000
    assert len(text) < 20_000_000


def test_the_api_functions_keep_their_names_after_every_submodule_loads():
    import kamopt.alternatives  # noqa: F401
    import kamopt.report.html  # noqa: F401

    assert kamopt.write_report.__module__ == kamopt.solve_alternatives.__module__ == "kamopt.api"
