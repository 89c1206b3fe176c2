"""Shamir over GF(256) and the custody share envelope (pure, no database)."""
from __future__ import annotations

import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from bidding.package import custody, shamir
from bidding.package.container import raw_public


@settings(max_examples=80, deadline=None)
@given(secret=st.binary(min_size=1, max_size=200), k=st.integers(2, 5), extra=st.integers(0, 4))
def test_any_threshold_subset_rebuilds_any_length(secret, k, extra):
    shares = shamir.split(secret, threshold=k, shares=k + extra)
    for subset in itertools.islice(itertools.combinations(shares, k), 20):
        assert shamir.combine(subset) == secret


@given(a=st.integers(0, 255), b=st.integers(0, 255), d=st.integers(1, 255))
def test_field_axioms(a, b, d):
    assert shamir.gf_mul(a, b) == shamir.gf_mul(b, a)
    assert shamir.gf_div(shamir.gf_mul(a, d), d) == a
    assert shamir.gf_mul(a, 1) == a and shamir.gf_mul(a, 0) == 0


def test_known_product_of_the_aes_field():
    assert shamir.gf_mul(0x57, 0x83) == 0xC1  # FIPS-197 §4.2 example


def test_fewer_than_threshold_shares_say_nothing():
    """Each single share of 2-of-3 is uniformly distributed whatever the secret (spot check)."""
    seen = {shamir.split(b"\x00", threshold=2, shares=3)[0][1] for _ in range(2000)}
    assert len(seen) > 240


@pytest.mark.parametrize("bad", [dict(threshold=1, shares=3), dict(threshold=4, shares=3),
                                 dict(threshold=2, shares=256)])
def test_bad_parameters(bad):
    with pytest.raises(ValueError):
        shamir.split(b"x", **bad)


def test_combine_refuses_duplicates_and_mixed_lengths():
    with pytest.raises(ValueError):
        shamir.combine([(1, b"a"), (1, b"b")])
    with pytest.raises(ValueError):
        shamir.combine([(1, b"a"), (2, b"bb")])
    with pytest.raises(ValueError):
        shamir.combine([])


def test_share_envelope_round_trip_and_wrong_custodian():
    opening = custody.new_opening_key()
    custodians = [X25519PrivateKey.generate() for _ in range(3)]
    sealed = [custody.encrypt_share(s, raw_public(k), random=__import__("os").urandom)
              for s, k in zip(custody.split_opening_key(opening, lot_id=9), custodians, strict=True)]
    clear = [custody.decrypt_share(rec, key) for rec, key in zip(sealed, custodians, strict=True)]
    rebuilt = custody.rebuild_opening_key(clear[1:])
    assert custody.private_raw(rebuilt) == custody.private_raw(opening)
    with pytest.raises(custody.CustodyError) as err:
        custody.decrypt_share(sealed[0], custodians[1])
    assert err.value.code == "wrong_key"
    altered = dict(sealed[0], x=2, recipient_kid=None)
    with pytest.raises(custody.CustodyError):
        custody.decrypt_share(altered, custodians[0])


def test_rebuild_detects_a_wrong_share_and_tolerates_one_among_three():
    opening = custody.new_opening_key()
    shares = custody.split_opening_key(opening, lot_id=3)
    bad = custody.ClearShare(3, shares[0].opening_key_id, 1, bytes(32))
    with pytest.raises(custody.CustodyError) as err:
        custody.rebuild_opening_key([bad, shares[1]])
    assert err.value.code == "share_mismatch"
    assert custody.private_raw(custody.rebuild_opening_key([bad, shares[1], shares[2]])) == \
        custody.private_raw(opening)
    other = custody.split_opening_key(custody.new_opening_key(), lot_id=3)
    with pytest.raises(custody.CustodyError) as err:
        custody.rebuild_opening_key([shares[0], other[1]])
    assert err.value.code == "mixed_shares"


def test_clear_share_json_round_trip_and_garbage():
    share = custody.split_opening_key(custody.new_opening_key(), lot_id=5)[2]
    assert custody.ClearShare.from_json(share.to_json()) == share
    for junk in ("", "{}", '{"lot_id": 1, "opening_key_id": "k", "x": 1, "y": "AA=="}', "[1]"):
        with pytest.raises(custody.CustodyError):
            custody.ClearShare.from_json(junk)
