"""The resourcing files (hiring.csv, sponsorship.csv, support.csv) and the planners' plan.xlsx.

Two solves per module: the bundled sample (named KAMs, sponsors, support functions, hiring;
solved to a 1 % gap to stay fast) and the mini instance with hostile account names (KAMs
planned per pool, one forced hire). Every check compares files with each other or with the
policy: hiring.csv against resources.csv and summary.json, the workbook against the CSVs.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from kamopt.api import load_policy, solve, write_plan
from kamopt.model.solution import NEW_HIRE
from kamopt.report.writers import fmt, safe_text
from kamopt.report.xlsx import MAX_WIDTH, MONEY, PLAN_SHEETS

ROOT = Path(__file__).parent.parent
MINI = Path(__file__).parent / "data" / "mini"
SHEET_FILES = {"Portfolio": "portfolio.csv", "Resources": "resources.csv", "Hiring": "hiring.csv",
               "Sponsorship": "sponsorship.csv", "Support": "support.csv", "Excluded": "excluded.csv",
               "Explanations": "explanations.csv"}
HOSTILE = {"A1": '=HYPERLINK("http://x","y")', "A2": "+1+1", "A3": "-2", "A4": "@SUM(A1)"}
"""Account id -> a name a spreadsheet would run as a formula (A3 is excluded, the rest key)."""
MINI_HIRING = ["portfolio.key_accounts.min=3", "resources.kam_pools.all.fte=0.5",
               "resources.kam_pools.all.hiring={max_fte: 1, cost_per_fte: 1000}"]
"""100 h of KAM time cannot carry three key accounts (250 h): the plan must hire one FTE."""


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def num(text: str) -> float:
    return float(text) if text != "" else 0.0


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The bundled sample, solved and written: (plan, folder). The CTO's affinity matches no
    account, so one sponsor is surely idle (its row in sponsorship.csv has no account)."""
    idle = "resources.sponsors.Jürgen Weiß.affinity=industry == 'Mining'"
    plan = solve(load_policy(ROOT / "policies" / "default.yaml", [idle]), gap=0.01)
    out = write_plan(plan, tmp_path_factory.mktemp("sample") / "plan")
    return plan, out


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    """The mini instance with formula-like account names and one hire: (plan, folder)."""
    folder = tmp_path_factory.mktemp("mini") / "data"
    shutil.copytree(MINI, folder)
    table = rows(folder / "accounts.csv")
    for row in table:
        row["name"] = HOSTILE[row["id"]]
    with open(folder / "accounts.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    plan = solve(load_policy(folder / "policy.yaml", MINI_HIRING))
    out = write_plan(plan, folder.parent / "plan")
    return plan, out


@pytest.fixture(params=["sample", "mini"])
def solved(request):
    return request.getfixturevalue(request.param)


def pool_resources(plan) -> dict[str, set[str]]:
    """Pool -> the resources.csv resources that hold its KAM capacity."""
    p = plan.problem
    if not p.kams:
        return {pool.id: {pool.id} for pool in p.pools}
    return {pool.id: {k.id for k in p.kams if p.pools[k.pool].id == pool.id} | {f"{pool.id} {NEW_HIRE}"}
            for pool in p.pools}


# --------------------------------------------------------------------------- hiring.csv
def test_the_sample_exercises_every_feature(sample):
    """Guards the fixture: without hires, sponsors and support the checks below prove little."""
    plan, out = sample
    assert plan.problem.kams and plan.problem.sponsors and plan.problem.support
    assert any(int(x["hires"]) > 0 for x in rows(out / "hiring.csv"))
    assert any(x["account_id"] == "" for x in rows(out / "sponsorship.csv"))  # an idle sponsor


def test_hiring_has_one_row_per_pool_in_policy_order_with_the_summary_hires(solved):
    plan, out = solved
    hiring = rows(out / "hiring.csv")
    summary = read_json(out / "summary.json")
    assert [x["pool"] for x in hiring] == list(plan.loaded.policy.resources.kam_pools)
    assert {x["pool"]: int(x["hires"]) for x in hiring} == summary["hires"]
    for x in hiring:
        assert num(x["resulting_fte"]) == pytest.approx(num(x["current_fte"]) + int(x["hires"]))
        assert int(x["hires"]) <= int(x["max_hires"])
        assert (x["named_kams"] == "") == (not plan.problem.kams)


def test_hiring_capacity_and_use_are_the_sums_of_the_pools_resource_rows(solved):
    plan, out = solved
    resources = rows(out / "resources.csv")
    members = pool_resources(plan)
    for x in rows(out / "hiring.csv"):
        mine = [r for r in resources if r["resource"] in members[x["pool"]]]
        hours = [r for r in mine if r["family"] == "kam_hours"]
        span = [r for r in mine if r["family"] == "kam_span"]
        assert hours and span, x["pool"]
        tol = 0.006 * len(mine) + 1e-9  # each CSV figure is rounded to 2 decimals
        assert num(x["hours_used"]) == pytest.approx(sum(num(r["used"]) for r in hours), abs=tol)
        assert num(x["hours_capacity"]) == pytest.approx(sum(num(r["limit"]) for r in hours), abs=tol)
        assert int(x["key_accounts"]) == round(sum(num(r["used"]) for r in span))
        assert num(x["span_capacity"]) == pytest.approx(sum(num(r["limit"]) for r in span), abs=tol)
        # and the key accounts are those the portfolio puts in the pool
        assert int(x["key_accounts"]) == sum(
            1 for r in rows(out / "portfolio.csv") if r["pool"] == x["pool"] and r["decision"] != "none")


def test_hiring_loads_stay_within_capacity_when_the_plan_verified(solved):
    plan, out = solved
    assert read_json(out / "summary.json")["verified"] is True
    for x in rows(out / "hiring.csv"):
        for used, cap, pct in (("hours_used", "hours_capacity", "hours_load_pct"),
                               ("key_accounts", "span_capacity", "span_load_pct")):
            if num(x[cap]) > 0:
                assert num(x[pct]) == pytest.approx(100 * num(x[used]) / num(x[cap]), abs=0.01)
                assert num(x[pct]) <= 100.0 + 1e-6
            else:
                assert x[pct] == "" and num(x[used]) == 0


def test_hire_cost_plus_cost_to_serve_is_the_annual_cost(solved):
    plan, out = solved
    hiring = rows(out / "hiring.csv")
    costs = plan.loaded.policy.resources.kam_pools
    for x in hiring:
        per_fte = costs[x["pool"]].hiring.cost_per_fte if costs[x["pool"]].hiring else 0.0
        assert num(x["hire_cost"]) == pytest.approx(int(x["hires"]) * per_fte)
    serve = sum(num(r["annual_cost"]) for r in rows(out / "portfolio.csv") if r["decision"] != "none")
    total = sum(num(x["hire_cost"]) for x in hiring) + serve
    rounding = 0.005 * (len(hiring) + len(rows(out / "portfolio.csv")))
    assert total == pytest.approx(read_json(out / "summary.json")["annual_cost"], abs=rounding)
    assert any(num(x["hire_cost"]) > 0 for x in hiring)


# --------------------------------------------------------------------------- sponsorship.csv
def test_every_sponsored_account_appears_once_under_its_sponsor(sample):
    _, out = sample
    sponsored = {r["account_id"]: r for r in rows(out / "portfolio.csv") if r["sponsor"]}
    listed = [x for x in rows(out / "sponsorship.csv") if x["account_id"]]
    assert sponsored, "the sample's gold accounts need sponsors"
    assert sorted(x["account_id"] for x in listed) == sorted(sponsored)
    for x in listed:
        r = sponsored[x["account_id"]]
        assert (x["sponsor"], x["account_name"], x["tier"]) == (r["sponsor"], r["name"], r["decision"])


def test_every_policy_sponsor_appears_in_order_within_its_slots(sample):
    plan, out = sample
    policy = plan.loaded.policy.resources.sponsors
    table = rows(out / "sponsorship.csv")
    order = list(dict.fromkeys(x["sponsor"] for x in table))
    assert order == list(policy)
    for sponsor, spec in policy.items():
        mine = [x for x in table if x["sponsor"] == sponsor]
        accounts = [x for x in mine if x["account_id"]]
        assert {x["title"] for x in mine} == {spec.title or ""}
        assert {int(x["slots"]) for x in mine} == {spec.slots}
        assert {int(x["slots_used"]) for x in mine} == {len(accounts)}
        assert len(accounts) <= spec.slots
        if not accounts:
            assert len(mine) == 1 and mine[0]["account_name"] == mine[0]["tier"] == ""
        ids = [x["account_id"] for x in accounts]
        order_in_input = [a for a in plan.screening.data.ids if a in ids]
        assert ids == order_in_input


def test_sponsorship_without_sponsors_is_a_header(mini):
    _, out = mini
    text = (out / "sponsorship.csv").read_text(encoding="utf-8")
    assert text == "sponsor,title,slots,slots_used,account_id,account_name,tier\n"


# --------------------------------------------------------------------------- support.csv
def test_support_hours_match_the_resource_rows(sample):
    plan, out = sample
    resources = {r["resource"]: r for r in rows(out / "resources.csv") if r["family"] == "support_hours"}
    support = rows(out / "support.csv")
    assert [x["function"] for x in support] == list(plan.loaded.policy.resources.support)
    assert len(support) == len(resources)
    tiers = plan.screening.tier_ids
    for x in support:
        r = resources[x["function"]]
        assert (x["hours_used"], x["hours_capacity"], x["hours_slack"]) == (r["used"], r["limit"], r["slack"])
        label = plan.loaded.policy.resources.support[x["function"]].label
        assert x["label"] == (label or x["function"])
        assert sum(num(x[f"hours_{t}"]) for t in tiers) == pytest.approx(num(x["hours_used"]), abs=0.01 * len(tiers))
        assert num(x["utilisation_pct"]) == pytest.approx(100 * num(x["hours_used"]) / num(x["hours_capacity"]),
                                                           abs=0.01)


# --------------------------------------------------------------------------- plan.xlsx
def workbook(out: Path):
    return load_workbook(out / "plan.xlsx")


def csv_table(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def same_as_csv(cell, text: str) -> bool:
    """A workbook cell holds what the CSV writes (numbers there have 2 decimals; a whole
    float such as 2.0 reads back from the workbook as the int 2)."""
    v = cell.value
    if v is None or isinstance(v, (str, bool)):
        return fmt(v) == text
    return text in {fmt(float(v)), fmt(int(v)) if float(v).is_integer() else None}


def test_workbook_sheets_in_order_with_frozen_filtered_headers(sample):
    _, out = sample
    wb = workbook(out)
    assert wb.sheetnames == list(PLAN_SHEETS)
    for ws in wb:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}", ws.title
        assert all(c.font.b and c.fill.fill_type == "solid" for c in ws[1]), ws.title
    assert [c.value for c in wb["Summary"][1]] == ["item", "value"]


def test_every_sheet_holds_its_csv_cell_for_cell(solved):
    """Same header, same rows, same values; numbers stay numeric cells, text is never a formula."""
    _, out = solved
    wb = workbook(out)
    for sheet, name in SHEET_FILES.items():
        table = csv_table(out / name)
        ws = wb[sheet]
        got = list(ws.iter_rows(max_col=len(table[0])))
        assert len(got) == len(table), sheet
        for cells, texts in zip(got, table):
            assert all(same_as_csv(c, t) for c, t in zip(cells, texts)), (sheet, texts)
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                assert cell.data_type in ("n", "s", "b"), (sheet, cell.coordinate)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    assert not cell.value.startswith(("=", "+", "-", "@")), cell.coordinate


def test_summary_sheet_holds_the_headline_figures(sample):
    _, out = sample
    summary = read_json(out / "summary.json")
    items = {r[0].value: r[1] for r in workbook(out)["Summary"].iter_rows(min_row=2)}
    cur = summary["currency"]
    assert items["status"].value == summary["status"]
    assert items[f"objective ({cur})"].value == pytest.approx(summary["objective"])
    assert items[f"objective ({cur})"].number_format == MONEY
    assert items[f"annual cost ({cur})"].value == pytest.approx(summary["annual_cost"])
    assert items["key accounts"].value == summary["key_accounts"]
    for tier, n in summary["tiers"].items():
        assert items[f"key accounts: {tier}"].value == n
    assert items["hires (FTE)"].value == sum(summary["hires"].values())
    assert items["gap"].value == pytest.approx(summary["gap"], abs=1e-6) and items["gap"].number_format.endswith("%")
    assert items["verified"].value is summary["verified"]
    assert items["policy sha256"].value == summary["policy_sha256"]
    assert items["data sha256"].value == summary["data_sha256"]


def test_number_formats_follow_the_column_names(sample):
    _, out = sample
    wb = workbook(out)

    def fmt_of(sheet: str, column: str) -> str:
        ws = wb[sheet]
        j = [c.value for c in ws[1]].index(column) + 1
        cells = [ws.cell(i, j) for i in range(2, ws.max_row + 1) if ws.cell(i, j).value is not None]
        assert cells, (sheet, column)
        assert all(isinstance(c.value, (int, float)) for c in cells), (sheet, column)
        return {c.number_format for c in cells}

    assert fmt_of("Portfolio", "expected_value") == {MONEY}
    assert fmt_of("Hiring", "hire_cost") == {MONEY}
    assert fmt_of("Portfolio", "kam_hours") == {"#,##0.0"}
    assert fmt_of("Hiring", "hours_load_pct") == {"0.0"}
    assert fmt_of("Hiring", "hires") == {"0"}
    assert fmt_of("Sponsorship", "slots_used") == {"0"}
    assert fmt_of("Resources", "lp_estimate") == {MONEY}
    assert fmt_of("Explanations", "value_lost_if_out") == {MONEY}
    assert fmt_of("Explanations", "shortfall") == {MONEY}
    assert fmt_of("Explanations", "contrib_product_fit") == {"0.00"}


def test_column_widths_fit_the_longest_text(sample):
    _, out = sample
    for ws in workbook(out):
        for col in ws.iter_cols():
            letter = col[0].column_letter
            width = ws.column_dimensions[letter].width
            longest = max(len(c.value) for c in col if isinstance(c.value, str))
            assert min(longest, MAX_WIDTH) <= width <= MAX_WIDTH, (ws.title, letter)


def test_formula_like_names_are_neutralised_text_in_csv_and_workbook(mini):
    _, out = mini
    wb = workbook(out)
    portfolio = {r["account_id"]: r["name"] for r in rows(out / "portfolio.csv")}
    excluded = {r["account_id"]: r["name"] for r in rows(out / "excluded.csv")}
    assert set(portfolio) == set(HOSTILE) and set(excluded) == {"A3"}
    for sheet, table in (("Portfolio", portfolio), ("Excluded", excluded)):
        ws = wb[sheet]
        cells = {r[0].value: r[1] for r in ws.iter_rows(min_row=2)}
        for account, name in table.items():
            assert name == "'" + HOSTILE[account] == safe_text(HOSTILE[account])
            assert cells[account].value == name and cells[account].data_type == "s", (sheet, account)
    with zipfile.ZipFile(out / "plan.xlsx") as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


def test_the_same_plan_gives_the_same_bytes(sample, tmp_path):
    plan, out = sample
    again = write_plan(plan, tmp_path / "again")
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    with zipfile.ZipFile(out / "plan.xlsx") as z:
        assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = z.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2  # created and modified


def test_no_plan_writes_no_resourcing_files(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(MINI, folder)
    plan = solve(load_policy(folder / "policy.yaml", ["portfolio.key_accounts.min=3",
                                                      "resources.kam_pools.all.fte=0.5"]))
    assert plan.solution.assignment is None
    out = write_plan(plan, tmp_path / "plan")
    assert not {"hiring.csv", "sponsorship.csv", "support.csv", "plan.xlsx"} & {p.name for p in out.iterdir()}
    assert (out / "summary.json").exists()


def test_workbook_reads_back_from_bytes(sample):
    """plan.xlsx is a complete zip that openpyxl opens from memory too (no temp-file leftovers)."""
    _, out = sample
    data = (out / "plan.xlsx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
    assert load_workbook(io.BytesIO(data)).sheetnames == list(PLAN_SHEETS)
