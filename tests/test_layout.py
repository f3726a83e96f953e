"""The package's shape: the toolkit below and apart from the replication layer, imports
without side effects, one code fingerprint for one training path."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import danqrepro

PACKAGE = Path(danqrepro.__file__).parent
REPLICATION = PACKAGE / "replication"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts if path.name == "__init__.py" else parts[:-1]
    package = package[:-1] if path.name == "__init__.py" else package
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def test_the_toolkit_never_imports_the_replication_layer():
    toolkit = [p for p in PACKAGE.rglob("*.py") if REPLICATION not in p.parents]
    assert len(toolkit) >= 20
    offenders = {str(p.relative_to(PACKAGE)): sorted(n for n in imported_modules(p)
                                                     if n.startswith("danqrepro.replication"))
                 for p in toolkit}
    assert not {k: v for k, v in offenders.items() if v}


def test_the_import_check_sees_relative_imports(tmp_path):
    """The check above would pass vacuously if it missed ``from .replication import x``."""
    names = imported_modules(PACKAGE / "replication" / "chapter.py")
    assert {"danqrepro.runcache", "danqrepro.replication.presets", "danqrepro.data.Store"} <= names
    names = imported_modules(PACKAGE / "cli.py")
    assert "danqrepro.data.synthetic.SyntheticSpec" in names


def test_imports_have_no_side_effects():
    """Importing the package, its CLI's parser, and the book's plots leaves the environment,
    TensorFlow and matplotlib's style alone."""
    code = """
import json, os, sys
import matplotlib
before = dict(matplotlib.rcParams)
env = dict(os.environ)
import danqrepro, danqrepro.cli, danqrepro.config, danqrepro.runs
danqrepro.cli.parser()
loaded_tf = "tensorflow" in sys.modules
import danqrepro.replication.plots
print(json.dumps({"env": sorted(set(os.environ.items()) ^ set(env.items())),
                  "tensorflow": loaded_tf,
                  "style": sorted(k for k, v in matplotlib.rcParams.items() if before.get(k) != v)}))
"""
    env = {k: v for k, v in __import__("os").environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert json.loads(out) == {"env": [], "tensorflow": False, "style": []}


def test_the_study_command_comes_from_the_replication_layer():
    """The toolkit's CLI gets ``study`` through its entry point (the toolkit names no
    replication module)."""
    out = subprocess.run([sys.executable, "-m", "danqrepro.cli", "study", "--help"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "--preset" in out.stdout
    from danqrepro.replication.cli import add_study
    assert add_study.__module__ == "danqrepro.replication.cli"
