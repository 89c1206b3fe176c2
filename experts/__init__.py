"""experts: the expert pool, specialties, avoidance, the verifiable random draw (commit–reveal),
confirmations, replacement draws and expert credit (DESIGN §6).  It sits above trading and below
bidding: a lot's bidders are handed down to it when bidding closes.
"""
