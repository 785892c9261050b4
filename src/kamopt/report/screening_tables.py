"""Screening results as tables: one row per account (``screening.csv``) and the excluded ones."""

from __future__ import annotations

from typing import Any

from kamopt.report.writers import OutputFolder
from kamopt.screening import Screening


def failed_rules(s: Screening, row: int) -> list[str]:
    """Ids of the eligibility rules an account fails."""
    return [rid for j, rid in enumerate(s.rule_ids) if not s.rule_pass[row, j]]


def screening_table(s: Screening) -> tuple[list[str], list[list[Any]]]:
    """Every account: rules, score and its parts, pool, and per tier admission, value and needs."""
    header = ["account_id", "name", "eligible", "failed_rules", "candidate", "reason", "notes",
              "score"]
    header += [f"score_{c}" for c in s.criterion_ids]
    header += ["pool", "current_tier"]
    for t in s.tier_ids:
        header += [f"{t}_admitted", f"{t}_value", f"{t}_cost", f"{t}_kam_hours"]
        header += [f"{t}_{fn}_hours" for fn in s.support_ids]
    header += [f"sponsor_ok_{sp}" for sp in s.sponsor_ids]
    rows = []
    candidate = s.candidate
    for r in range(s.n):
        row: list[Any] = [
            s.data.ids[r], s.data.names[r], bool(s.eligible[r]), " ".join(failed_rules(s, r)),
            bool(candidate[r]), s.reasons[r], s.notes[r], round(float(s.score[r]), 4),
        ]
        row += [round(float(x), 4) for x in s.criterion_scores[r]]
        row += [s.pool_ids[s.pool[r]] if s.pool[r] >= 0 else "",
                s.tier_ids[s.current_tier[r]] if s.current_tier[r] >= 0 else ""]
        for k in range(len(s.tier_ids)):
            row += [bool(s.admitted[r, k]), float(s.value[r, k]), float(s.cost[r, k]),
                    float(s.kam_hours[r, k])]
            row += [float(s.support[f, r, k]) for f in range(len(s.support_ids))]
        row += [bool(x) for x in s.sponsor_ok[r]]
        rows.append(row)
    return header, rows


def excluded_table(s: Screening) -> tuple[list[str], list[list[Any]]]:
    """Accounts that are not candidates, with the rules (or other reasons) that exclude them."""
    header = ["account_id", "name", "reason", "failed_rules", "score", "current_tier"]
    rows = []
    candidate = s.candidate
    for r in range(s.n):
        if candidate[r]:
            continue
        rows.append([
            s.data.ids[r], s.data.names[r], s.reasons[r], " ".join(failed_rules(s, r)),
            round(float(s.score[r]), 4),
            s.tier_ids[s.current_tier[r]] if s.current_tier[r] >= 0 else "",
        ])
    return header, rows


def screening_summary(s: Screening) -> dict[str, Any]:
    """Counts for the screening summary."""
    candidate = s.candidate
    failed = {rid: int((~s.rule_pass[:, j]).sum()) for j, rid in enumerate(s.rule_ids)}
    return {
        "accounts": s.n,
        "eligible": int(s.eligible.sum()),
        "candidates": int(candidate.sum()),
        "excluded": int((~candidate).sum()),
        "failing_each_rule": failed,
        "admitted_per_tier": {t: int(s.admitted[:, k].sum()) for k, t in enumerate(s.tier_ids)},
        "incumbents": int((s.current_tier >= 0).sum()),
    }


def write_screening(s: Screening, folder: OutputFolder) -> None:
    """``screening.csv``, ``excluded.csv`` and ``screening.json`` into an output folder."""
    folder.csv("screening.csv", *screening_table(s))
    folder.csv("excluded.csv", *excluded_table(s))
    summary = {
        "policy": s.loaded.policy.name,
        "policy_sha256": s.loaded.sha256,
        "data_sha256": s.data.sha256,
        **screening_summary(s),
    }
    folder.json("screening.json", summary)
