import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as the CLI and the chapters train


@pytest.fixture(scope="session", autouse=True)
def cache(tmp_path_factory):
    """Generated bundles and stores go to a per-session cache, never the user's."""
    path = tmp_path_factory.mktemp("cache")
    os.environ["DANQREPRO_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """A synthetic bundle small enough for every test: 40 targets, 1000 bp."""
    from danqrepro.data import SyntheticSpec, generate
    spec = SyntheticSpec(n_train=1024, n_valid=256, n_test=256, n_targets=40, seed=3)
    return generate(tmp_path_factory.mktemp("bundle") / "tiny", spec, progress=False)


@pytest.fixture(scope="session")
def tiny_store(tiny_bundle, tmp_path_factory):
    from danqrepro.data import convert
    return convert(tiny_bundle, tmp_path_factory.mktemp("store") / "tiny", progress=False)
