"""danqrepro: a reproducible replication of "DanQ with random dropout".

Modules, one concern each:

- ``danqrepro.data``: the DeepSEA bundle layout, the compact store, the tf.data
  pipeline, the synthetic benchmark and its JASPAR motifs.
- ``danqrepro.models``: DanQ, the DeepSEA CNN and their presets.
- ``danqrepro.dropout``: the variable-rate dropout layer and the random-dropout callback.
- ``danqrepro.train``: one resumable training run; ``danqrepro.evaluate``: scoring.
- ``danqrepro.stats``: comparing arms; ``danqrepro.study``: sets of cached runs.
- ``danqrepro.presets``: the named scales (smoke, cpu, paper, full).
"""

__version__ = "0.1.0"
