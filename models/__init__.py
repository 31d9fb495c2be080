"""Detectors and encoders for reelhouse: numpy in, numpy out.

This layer imports only numpy and torch (plus the packages that ship pretrained weights).
It never imports Spark, Dagster, Iceberg or ``reelhouse.*``, so it can be imported and
tested on its own and wrapped by any engine.
"""
