"""bidding."""
