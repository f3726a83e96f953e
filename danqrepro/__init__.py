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

import os

# TensorFlow turns its oneDNN CPU kernels on by itself only on CPUs with AVX512-VNNI or
# newer; elsewhere (AMD EPYC here) they train DanQ about 1.5x faster than the default
# Eigen kernels (benchmarks/training.py). Read when TensorFlow loads, so it is set here,
# before any module imports it; an explicit setting (0 or 1) is left as it is.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
