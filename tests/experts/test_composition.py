"""Committee make-up: ≥ 5, odd, experts ≥ 2/3, quotas add up; ≥ 7 in the GP cases (RULES §2b)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from experts.composition import CompositionError, check


def q(n):
    return [{"specialty": "A01", "count": n}]


@pytest.mark.parametrize(("size", "reps", "code"), [(3, 0, "committee_too_small"), (6, 0, "committee_even"),
                                                    (5, 2, "too_few_experts"), (9, 4, "too_few_experts")])
def test_refused(size, reps, code):
    with pytest.raises(CompositionError) as err:
        check(size=size, tenderee_reps=reps, quotas=q(size - reps))
    assert err.value.code == code and err.value.rule


@pytest.mark.parametrize(("size", "reps"), [(5, 0), (5, 1), (7, 2), (9, 3)])
def test_accepted(size, reps):
    assert check(size=size, tenderee_reps=reps, quotas=q(size - reps)) == size - reps


def test_quotas_must_add_up():
    with pytest.raises(CompositionError, match="quotas"):
        check(size=5, tenderee_reps=1, quotas=q(3))


@pytest.mark.parametrize("gp", [{"budget": Decimal("10000000")}, {"complex_project": True}, {"social_impact": True}])
def test_government_procurement_needs_seven(gp):
    with pytest.raises(CompositionError) as err:
        check(size=5, tenderee_reps=0, quotas=q(5), category="gov_procurement", **gp)
    assert "第四十七条" in err.value.rule
    assert check(size=7, tenderee_reps=0, quotas=q(7), category="gov_procurement", **gp) == 7


def test_near_twins_of_the_gp_rule_need_only_five():
    assert check(size=5, tenderee_reps=0, quotas=q(5), category="gov_procurement", budget=Decimal("9999999.99")) == 5
    assert check(size=5, tenderee_reps=0, quotas=q(5), category="construction", budget=Decimal("2E7")) == 5
