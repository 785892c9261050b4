"""Screening results as tables: one row per account (``screening.csv``) and the excluded ones."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from kamopt.report.writers import OutputFolder, bool_texts, number_texts, safe_text
from kamopt.screening import Screening


def failed_rules(s: Screening, row: int) -> list[str]:
    """Ids of the eligibility rules an account fails."""
    return [rid for j, rid in enumerate(s.rule_ids) if not s.rule_pass[row, j]]


CHUNK = 20_000
"""Rows formatted at a time: big tables stream to disk in bounded memory."""


def screening_table(s: Screening) -> tuple[list[str], Iterator[list[str]]]:
    """Every account: rules, score and its parts, pool, and per tier admission, value and needs.

    The rows are final text (write them with ``formatted=True``), produced column-wise in
    chunks of :data:`CHUNK` accounts, so a million-account screening streams to disk.
    """
    header = ["account_id", "name", "eligible", "failed_rules", "candidate", "reason", "notes",
              "score"]
    header += [f"score_{c}" for c in s.criterion_ids]
    header += ["pool", "current_tier"]
    for t in s.tier_ids:
        header += [f"{t}_admitted", f"{t}_value", f"{t}_cost", f"{t}_kam_hours"]
        header += [f"{t}_{fn}_hours" for fn in s.support_ids]
    header += [f"sponsor_ok_{sp}" for sp in s.sponsor_ids]
    return header, _screening_rows(s)


def _round4(values: np.ndarray) -> list[float]:
    return [round(v, 4) for v in values.tolist()]  # as the summary rounds, before 2-decimal text


def _screening_rows(s: Screening) -> Iterator[list[str]]:
    pools = [safe_text(p) for p in s.pool_ids] + [""]  # index -1 -> ""
    tiers = [safe_text(t) for t in s.tier_ids] + [""]
    for lo in range(0, s.n, CHUNK):
        r = slice(lo, min(lo + CHUNK, s.n))
        columns = [
            [safe_text(x) for x in s.data.ids[r]], [safe_text(x) for x in s.data.names[r]],
            bool_texts(s.eligible[r]),
            [safe_text(" ".join(failed_rules(s, i))) for i in range(r.start, r.stop)],
            bool_texts(s.candidate[r]), [safe_text(x) for x in s.reasons[r]],
            [safe_text(x) for x in s.notes[r]], number_texts(_round4(s.score[r])),
        ]
        columns += [number_texts(_round4(s.criterion_scores[r, j]))
                    for j in range(len(s.criterion_ids))]
        columns += [[pools[p] for p in s.pool[r].tolist()], [tiers[t] for t in s.current_tier[r].tolist()]]
        for k in range(len(s.tier_ids)):
            columns += [bool_texts(s.admitted[r, k]), number_texts(s.value[r, k]),
                        number_texts(s.cost[r, k]), number_texts(s.kam_hours[r, k])]
            columns += [number_texts(s.support[f, r, k]) for f in range(len(s.support_ids))]
        columns += [bool_texts(s.sponsor_ok[r, j]) for j in range(len(s.sponsor_ids))]
        yield from map(list, zip(*columns))


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
    folder.csv("screening.csv", *screening_table(s), formatted=True)
    folder.csv("excluded.csv", *excluded_table(s))
    summary = {
        "policy": s.loaded.policy.name,
        "policy_sha256": s.loaded.sha256,
        "data_sha256": s.data.sha256,
        **screening_summary(s),
    }
    folder.json("screening.json", summary)
