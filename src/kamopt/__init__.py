"""kamopt: a decision engine for Key Account Management.

Screen accounts with a declarative policy, choose the key-account portfolio and staff it
with a mixed-integer program, and verify the plan independently::

    import kamopt
    policy = kamopt.load_policy("policies/default.yaml")
    plan = kamopt.solve(policy)
    print(plan.status, plan.solution.objective)
    kamopt.write_plan(plan, "out/plan")
"""

__version__ = "0.1.0"

from kamopt.api import (  # noqa: E402  (the version must exist before submodules import it)
    as_policy,
    check,
    compare,
    explain_account,
    frontier,
    load_data,
    load_policy,
    marginal_values,
    screen,
    solve,
    solve_alternatives,
    write_plan,
    write_report,
    write_screening,
)
from kamopt.errors import KamoptError  # noqa: E402

__all__ = [
    "KamoptError",
    "__version__",
    "as_policy",
    "check",
    "compare",
    "explain_account",
    "frontier",
    "load_data",
    "load_policy",
    "marginal_values",
    "screen",
    "solve",
    "solve_alternatives",
    "write_plan",
    "write_report",
    "write_screening",
]
