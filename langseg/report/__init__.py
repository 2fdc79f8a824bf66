"""The report's tables and figures from evaluation results (no models, no torch).

* :mod:`langseg.report.results`: validate/load the evaluate rule's JSON dicts, labels, captions.
* :mod:`langseg.report.tables`: Tables 2, 3, 4, summary, class IoU (pandas) and ``build_all``.
* :mod:`langseg.report.writers`: ``write_table`` -> ``.csv`` / ``.md`` / ``.tex``.
* :mod:`langseg.report.literature`: Table 4's literature rows (``literature.csv``, with sources).
* :mod:`langseg.report.colours`: ``colourise``, ``overlay``, ``legend_entries`` (numpy only).
* :mod:`langseg.report.figures`: Figure 2 (class IoU) and Figure 3 (qualitative) as PNG.
"""
