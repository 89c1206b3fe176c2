"""bidding: sealed bid packages (format v1), the bidder tool, opening-key custody (DESIGN §5)."""
import logging

logger = logging.getLogger(__name__)
