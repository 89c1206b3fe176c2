"""The bidder tool: ``ggzy bid …`` (:mod:`~bidding.tool.cli`), its Python API
(:mod:`~bidding.tool.actions`) and the HTTP client of the submission API (:mod:`~bidding.tool.client`).

It runs on the bidder's machine: it uses the package format and talks to the platform only over its
public HTTP API, never through the platform's services or database (an import-linter contract).
"""
