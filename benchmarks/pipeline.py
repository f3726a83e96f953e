"""Input pipeline alone (samples/s from the store) against the model's training samples/s.

    python benchmarks/pipeline.py [--quick]
"""

import argparse

from common import save, timed

from danqrepro.data import SyntheticSpec, synthetic_store
from danqrepro.data.pipeline import train_dataset


def drain(split, indices, batch):
    n = 0
    for x, _ in train_dataset(split, indices, batch, seed=0, epoch=0):
        n += int(x.shape[0])
    return n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import keras
    import numpy as np

    from danqrepro.models import build_model
    store = synthetic_store(SyntheticSpec(n_train=20_000 if args.quick else 60_000), progress=False)
    split = store.split("train")
    rows = []
    for batch in (100, 1000):
        n, seconds = timed(drain, split, np.arange(split.n), batch)
        pipeline_rate = n / seconds
        for model_name in ("danq-small", "danq"):
            model = build_model(model_name, store.seq_len, store.n_targets)
            model.compile(keras.optimizers.RMSprop(1e-3, rho=0.9), "binary_crossentropy")
            n_fit = 2 * batch if model_name == "danq" else 10 * batch
            ds = train_dataset(split, np.arange(n_fit), batch, 0, 0)
            model.fit(ds, verbose=0)  # trace and warm up
            _, fit_seconds = timed(model.fit, train_dataset(split, np.arange(n_fit), batch, 0, 1), verbose=0)
            train_rate = n_fit / fit_seconds
            rows.append({"batch": batch, "model": model_name, "pipeline_samples_s": pipeline_rate,
                         "train_samples_s": train_rate, "ratio": pipeline_rate / train_rate})
    save("pipeline", rows)


if __name__ == "__main__":
    main()
