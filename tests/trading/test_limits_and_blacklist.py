"""Every time limit of every procedure row at its boundary instant, both ways; the blacklist and the
operator-affiliate rule (EBM Art.23) as data the bidding domain queries; invited tendering."""
from __future__ import annotations

import datetime as dt

import pytest

from core import identity
from core.clock import frozen
from core.errors import Conflict
from tests.factories import make_org
from tests.trading.helpers import bj, published_lot
from trading import procedures, services

US = dt.timedelta(microseconds=1)
LIMITS = [(c.key, name, lim) for c in procedures.PROCEDURES.values() for name, lim in c.limits().items()]


@pytest.mark.parametrize("key,name,limit", LIMITS, ids=[f"{k}.{n}[{lim.article}]" for k, n, lim in LIMITS])
@pytest.mark.parametrize("start", [bj(2026, 3, 4, 10), bj(2026, 9, 24, 23, 30), bj(2026, 4, 30, 0, 10)],
                         ids=["weekday", "before-national-day", "before-labour-day"])
def test_boundary_instants_of_every_limit(key, name, limit, start):
    """A minimum period is met at its earliest end and not a microsecond before (GP87 Art.86 以上/不足);
    a "within" period still runs at its last instant and not a microsecond after (民法典 Art.203)."""
    earliest, last = limit.earliest_end(start), limit.last_instant(start)
    assert limit.satisfied(start, earliest) and not limit.satisfied(start, earliest - US)
    assert limit.within(start, last) and not limit.within(start, last + US)
    if not limit.minutes:
        assert earliest.astimezone(procedures.cal.SHANGHAI).date() > start.astimezone(procedures.cal.SHANGHAI).date(), \
            "GP87 Art.85: the start day is not counted"


def test_blacklist_matches_enterprise_person_and_legal_representative(cast):
    sup = cast["supervisor"]
    org = make_org(legal_rep={"name": "李某", "id_number_hash": identity.hash_id_number("330203198001010011")})
    start = bj(2026, 1, 1)
    services.add_entry(actor=sup, subject_kind="person", name="李某", id_number="330203198001010011",
                       reason="行贿", legal_basis="招标投标法实施条例 第六十七条", starts_at=start)
    assert services.is_blacklisted(org, bj(2026, 3, 1)), "its legal representative is listed"
    assert services.is_blacklisted("330203198001010011", bj(2026, 3, 1))
    assert services.is_blacklisted(identity.hash_id_number("330203198001010011"), bj(2026, 3, 1))
    assert not services.is_blacklisted(org, bj(2025, 12, 31)), "not before the listing starts"
    entry = services.add_entry(actor=sup, subject_kind="enterprise", name=org.name, uscc=org.uscc, reason="串标",
                               legal_basis="招标投标法 第五十三条", starts_at=start, ends_at=bj(2027, 1, 1))
    assert services.is_blacklisted(org.uscc, bj(2026, 12, 31, 23))
    assert not services.is_blacklisted(org.uscc, bj(2027, 1, 1)), "the end instant is excluded"
    with frozen(bj(2026, 6, 1)):
        services.revoke_entry(actor=sup, entry=entry, reason="复议撤销")
    assert not services.matches(org.uscc, bj(2026, 6, 2))
    assert services.matches(org.uscc, bj(2026, 5, 31)), "history before the revocation stays true"


def test_bidder_exclusions_include_the_operator_affiliate_rule(cast):
    affiliate = make_org(affiliated_with_operator=True)
    reasons = services.bidder_exclusions(affiliate, bj(2026, 3, 1))
    assert reasons == [{"code": "operator_affiliate", "rule": "电子招标投标办法 第二十三条",
                        "detail": "the platform operator and entities it controls may not bid on its platform"}]
    assert services.bidder_exclusions(cast["bidder"].organisation, bj(2026, 3, 1)) == []


def test_blacklist_input_is_checked(cast):
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.add_entry(actor=cast["supervisor"], subject_kind="enterprise", name="x", reason="r", legal_basis="b",
                           starts_at=bj(2026, 1, 1))
    with pytest.raises(ValidationFailed):
        services.add_entry(actor=cast["supervisor"], subject_kind="person", name="x", id_number="1", reason="r",
                           legal_basis="b", starts_at=bj(2026, 1, 2), ends_at=bj(2026, 1, 1))


def test_invited_tendering_documents_go_to_invitees_only(cast):
    """招标投标法 第十七条: invitations to ≥ 3 named bidders; others do not get the documents."""
    invitees = [cast["bidder"].organisation_id, make_org().id, make_org().id]
    lot = published_lot(cast["agency"], at=bj(2026, 3, 4, 10), deadline=bj(2026, 3, 24, 9), mode="invited",
                        invitees=invitees)
    with frozen(bj(2026, 3, 5)):
        services.download_document(user=cast["bidder"], doc=lot.documents[0])
        with pytest.raises(Conflict) as err:
            services.download_document(user=cast["bidder_b"], doc=lot.documents[0])
    assert err.value.rule == "招标投标法 第十七条"
