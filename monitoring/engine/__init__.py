"""The collusion detector's offline engine: pure algorithms over bid tables, no Flask, no database.

``ggzy monitoring scan|simulate|evaluate`` and the benchmarks run it on files; the platform's own
market reaches it through :mod:`monitoring.services`.  An import-linter contract keeps it free of the
web app and the database, so it runs wherever numpy, scipy and networkx do.

* input and output: :mod:`~monitoring.engine.io` (bids-csv, OCDS), :mod:`~monitoring.engine.ocds_fast`,
  :mod:`~monitoring.engine.export`, :mod:`~monitoring.engine.datasets`;
* the table every algorithm reads: :mod:`~monitoring.engine.table`;
* within a lot: :mod:`~monitoring.engine.rules` (条例 第四十条), :mod:`~monitoring.engine.screens`,
  :mod:`~monitoring.engine.docsim`;
* across lots: :mod:`~monitoring.engine.graph`, :mod:`~monitoring.engine.patterns`,
  :mod:`~monitoring.engine.market`, :mod:`~monitoring.engine.scoring`;
* calibration and evaluation: :mod:`~monitoring.engine.features`, :mod:`~monitoring.engine.supervised`,
  :mod:`~monitoring.engine.calibration`, :mod:`~monitoring.engine.evaluate`;
* the market simulator: :mod:`~monitoring.engine.simulate`, :mod:`~monitoring.engine.plant`.
"""
