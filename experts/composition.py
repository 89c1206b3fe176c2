"""Committee make-up rules (RULES §2b), pure so every boundary has a test."""
from __future__ import annotations

import math
from decimal import Decimal

GP_LARGE_BUDGET = Decimal("10000000")
RULE_SIZE = "招标投标法 第三十七条; 评标委员会和评标方法暂行规定 第九条"
RULE_GP = "政府采购货物和服务招标投标管理办法 第四十七条"


class CompositionError(ValueError):
    """A refused committee make-up; ``code`` and ``rule`` go into the API error."""

    def __init__(self, detail: str, *, code: str, rule: str):
        super().__init__(detail)
        self.code, self.rule = code, rule


def minimum_size(*, category: str, budget: Decimal | None, complex_project: bool, social_impact: bool) -> int:
    """5 in general; 7 for government procurement with a budget ≥ 10M, complexity or big impact."""
    gp = category == "gov_procurement"
    big = budget is not None and Decimal(budget) >= GP_LARGE_BUDGET
    return 7 if gp and (big or complex_project or social_impact) else 5


def check(*, size: int, tenderee_reps: int, quotas: list[dict], category: str = "",
          budget: Decimal | None = None, complex_project: bool = False, social_impact: bool = False) -> int:
    """Validate and return the number of experts to draw; raise :class:`CompositionError` otherwise."""
    least = minimum_size(category=category, budget=budget, complex_project=complex_project,
                         social_impact=social_impact)
    if size < least:
        rule = RULE_GP if least == 7 else RULE_SIZE
        raise CompositionError(f"the committee needs at least {least} members", code="committee_too_small", rule=rule)
    if size % 2 == 0:
        raise CompositionError("the committee must have an odd number of members", code="committee_even",
                               rule=RULE_SIZE)
    experts = size - tenderee_reps
    if tenderee_reps < 0 or experts < math.ceil(2 * size / 3):
        raise CompositionError(f"experts must be at least 2/3 of {size} members", code="too_few_experts",
                               rule=RULE_SIZE)
    drawn = sum(int(q["count"]) for q in quotas)
    if drawn != experts:
        raise CompositionError(f"quotas add up to {drawn}, the committee needs {experts} experts",
                               code="quotas_mismatch", rule=RULE_SIZE)
    return experts
