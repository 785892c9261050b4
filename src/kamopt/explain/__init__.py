"""Why is an account in or out of the plan, and what would it take to change that?

Two levels, one vocabulary:

* :func:`explain_account` (``kamopt explain``) explains one account of a plan *exactly*:
  its eligibility rules, score and each criterion's part, what each tier would be worth
  and consume, the decision, the constraints that block a better tier (by their names:
  ``kam_hours[Iberia]``, ``sponsor_slots[Ana Ruiz]``, ``max_key_accounts``...), the
  **entry threshold** (the expected value at which it would enter a tier) and, for an
  account that is in, the **value lost** if it were forced out. Thresholds and losses
  come from re-solving the MILP with the account forced in at the tier (or out):
  ``threshold = value + (OPT - OPT_forced)``, ``value lost = OPT - OPT_out``. Each is
  exact up to the re-solves' gap, which is reported as an interval.
* :func:`explanations_table` (``explanations.csv``, written with every solve) gives the
  same fields for every account, with cheap **estimates** in place of re-solves: the LP
  relaxation's row duals price what each option uses, and an option's net worth is its
  objective coefficient minus that price. The ``threshold_method`` column says which.

Everything here returns data (dataclasses); :func:`explanation_lines` turns an
:class:`Explanation` into plain-language lines, which the CLI prints.

Modules (data flows down this list; each imports only from those above it):

* :mod:`~kamopt.explain.facts`: the dataclasses, and the account's rules, score and tiers
  as the screening has them;
* :mod:`~kamopt.explain.blockers`: the capacities and limits a move would break, the rules
  that keep an account in;
* :mod:`~kamopt.explain.estimates`: LP prices, estimated moves and ``explanations.csv``;
* :mod:`~kamopt.explain.resolve`: the exact re-solves (:class:`Resolver`) and what would
  have to change when an account cannot be at a tier;
* :mod:`~kamopt.explain.words`: the plain-language lines;
* :mod:`~kamopt.explain.account`: :func:`explain_account`, which brings them together.
"""

from kamopt.explain.account import EXPLAIN_GAP, EXPLAIN_TIGHT_MAX_OPTIONS, EXPLAIN_TIME_LIMIT, explain_account
from kamopt.explain.blockers import move_blockers
from kamopt.explain.estimates import estimated_moves, explanations_table, lp_net_values
from kamopt.explain.facts import Blocker, Bounds, Contribution, Entry, Exit, Explanation, RuleResult, TierFacts
from kamopt.explain.resolve import Resolver, capacity_needed
from kamopt.explain.words import blocker_words, explanation_lines

__all__ = [
    "EXPLAIN_GAP", "EXPLAIN_TIGHT_MAX_OPTIONS", "EXPLAIN_TIME_LIMIT",
    "Blocker", "Bounds", "Contribution", "Entry", "Exit", "Explanation", "Resolver", "RuleResult", "TierFacts",
    "blocker_words", "capacity_needed", "estimated_moves", "explain_account", "explanation_lines",
    "explanations_table", "lp_net_values", "move_blockers",
]
