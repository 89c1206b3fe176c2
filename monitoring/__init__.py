"""Monitoring (智慧监管): the collusion detector's offline engine (:mod:`monitoring.engine`) and the
platform side that feeds it the platform's own bids and raises alerts (services, tasks, cli).

The top layer (DESIGN §3): it reads every domain below it and learns of their changes through events.
"""
