"""Sealed bid package format v1 (docs/package-format-v1.md), Flask-free: what a third-party bidder
tool would vendor.  It needs only ``cryptography`` (and the standard library): no Flask, no database,
no platform configuration, as the import-linter contract in pyproject.toml holds.

* :mod:`~bidding.package.container` — byte framing, canonical JSON, segmented AEAD, key wrap;
* :mod:`~bidding.package.manifest`, :mod:`~bidding.package.payload` — what is signed, what is sealed;
* :mod:`~bidding.package.sealing` — seal, verify, open;
* :mod:`~bidding.package.shamir`, :mod:`~bidding.package.custody` — the lot's opening key, 2-of-3;
* :mod:`~bidding.package.metadata` — device and document evidence captured at packing;
* :mod:`~bidding.package.priced_schedule` — the priced schedule (报价表) read from CSV or Excel;
* :mod:`~bidding.package.receipts` — verify the platform's signed receipt;
* :mod:`~bidding.package.records` — verify a signed opening record and sign its confirmation.
"""
