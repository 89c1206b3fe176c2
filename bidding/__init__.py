"""bidding: the sealed package format (:mod:`bidding.package`), the bidder tool (:mod:`bidding.tool`),
opening-key custody, submission, receipts and bonds, the close at the deadline and the online opening
(DESIGN §5).  Services in :mod:`bidding.services`, the JSON API in :mod:`bidding.api`.
"""
