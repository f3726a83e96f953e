"""Prepended to a probe script: the script then runs as on a machine without TensorFlow
(importing it fails), so a test can show that a backend never needs it."""
import sys


class NoTensorFlow:
    def find_spec(self, name, path, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"No module named {name!r} (blocked: a machine without TensorFlow)")
        return None


sys.meta_path.insert(0, NoTensorFlow())
