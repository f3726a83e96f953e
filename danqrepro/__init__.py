"""danqrepro: DanQ and the DeepSEA data in Keras 3, with random dropout.

The toolkit, one concern per module:

- ``danqrepro.data``: the DeepSEA bundle layout, the compact store, the input pipeline,
  the synthetic benchmark, JASPAR motifs, FASTA and labels into a store.
- ``danqrepro.sequence``, ``danqrepro.pwm``: sequences and PWMs as arrays.
- ``danqrepro.models``: DanQ, the DeepSEA CNN and their presets.
- ``danqrepro.dropout``: the variable-rate dropout layer and the random-dropout callback.
- ``danqrepro.train``: one resumable training run; ``danqrepro.runs``: reading a run;
  ``danqrepro.runcache``: many runs, cached by config.
- ``danqrepro.evaluate``, ``danqrepro.predict``, ``danqrepro.variants``,
  ``danqrepro.interpret``: scoring, predictions, variant effects, motifs.

``danqrepro.replication`` is the book's own layer above it; the toolkit never imports it.
"""

__version__ = "0.1.0"
