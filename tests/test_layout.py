"""The package's shape: imports run one way, modules stay small, public names stay public.

The import graph is read from the source (every `import`, module-level or inside a
function, since a lazy import hides a cycle rather than removing it).
"""

import ast
import importlib
import os
import subprocess
import sys

import pytest
from conftest import REPO

PACKAGE = os.path.join(REPO, "tfgan_kit")
MAX_LINES = 400

# What users imported from each namespace before the layout change (0.1.0), still importable.
PUBLIC = {
    "tfgan_kit": [
        "GAN", "load_dataset", "load_arrays", "dcgan_generator", "dcgan_discriminator",
        "mlp_generator", "mlp_discriminator", "MinibatchDiscrimination", "MinibatchStdDev",
        "SampleGrid", "GeneratorEMA", "ImbalanceMonitor", "ModeCollapseMonitor", "FIDMonitor",
        "CrashSafeBackup", "NaNGuard", "evaluate", "feature_extractor", "load_digit_classifier",
        "export_generator", "plot_history", "plot_mixture_samples", "save_image_grid",
        "set_precision", "set_seed", "callbacks", "data", "distribute", "losses", "metrics",
        "plotting", "regularizers",
    ],
    "tfgan_kit.callbacks": [
        "GeneratorEMA", "ImbalanceMonitor", "ModeCollapseMonitor", "SampleGrid",
        "write_image_summary",
    ],
    "tfgan_kit.metrics": [
        "class_coverage", "classifier_score", "density_coverage", "frechet_distance",
        "frechet_distance_from_stats", "kernel_inception_distance", "mixture_mode_stats",
        "mmd2_unbiased", "mode_score", "polynomial_kernel", "precision_recall",
    ],
    "tfgan_kit.losses": [
        "LOSSES", "get", "hinge_loss_dis", "hinge_loss_gen", "least_squares_loss_dis",
        "least_squares_loss_gen", "minimax_loss_dis", "minimax_loss_gen", "ns_loss_gen",
        "wasserstein_loss_dis", "wasserstein_loss_gen",
    ],
    "tfgan_kit.regularizers": [
        "HistoricalAverage", "feature_matching_loss", "feature_model", "gradient_penalty",
        "r1_penalty",
    ],
    "tfgan_kit.distribute": ["STRATEGIES", "check_dataset", "is_multi_worker", "strategy_from_name"],
}


def _modules() -> dict:
    """{dotted name: path} of every module of the package."""
    found = {}
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                parts = os.path.relpath(path, REPO)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                found[".".join(parts)] = path
    return found


MODULES = _modules()


def _packages_of(module: str) -> list:
    """The sub-packages whose __init__ runs when `module` is imported (not the top package)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts)) if ".".join(parts[:i]) in MODULES]


def _imports(module: str) -> set:
    """Package modules `module` imports, with the sub-package __init__s those imports run."""
    tree = ast.parse(open(MODULES[module]).read())
    package = module if MODULES[module].endswith("__init__.py") else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            if name in MODULES:
                targets.add(name)
                targets.update(_packages_of(name))
    ancestors = set(_packages_of(module)) | {"tfgan_kit"}
    return targets - {module} - (ancestors if module != "tfgan_kit" else set())


GRAPH = {module: _imports(module) for module in MODULES}


def _cycle():
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(GRAPH):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    assert _cycle() is None, " -> ".join(_cycle())


def test_the_graph_sees_a_cycle_when_there_is_one():
    GRAPH["tfgan_kit._internal.sampling"].add("tfgan_kit.gan")  # a made-up back edge
    try:
        assert _cycle() is not None
    finally:
        GRAPH["tfgan_kit._internal.sampling"].discard("tfgan_kit.gan")


def test_internal_helpers_import_nothing_above_them():
    for module, targets in GRAPH.items():
        if module.startswith("tfgan_kit._internal"):
            above = [t for t in targets if not t.startswith("tfgan_kit._internal")]
            assert not above, f"{module} imports {above}"


def test_callbacks_read_the_signal_contract_not_gan_internals():
    for module, targets in GRAPH.items():
        if module.startswith("tfgan_kit.callbacks"):
            assert not {"tfgan_kit.gan", "tfgan_kit.trainer"} & targets, module


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_is_at_most_400_lines(module):
    lines = open(MODULES[module]).read().count("\n")
    assert lines <= MAX_LINES, f"{module} has {lines} lines: two concepts, split it"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_reaches_into_another_modules_private_names(module):
    tree = ast.parse(open(MODULES[module]).read())
    aliases = {}  # local name -> package module it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tfgan_kit"):
            for alias in node.names:
                assert not alias.name.startswith("_") or alias.name == "_internal", (
                    f"{module} imports the private {node.module}.{alias.name}")
                full = f"{node.module}.{alias.name}"
                if full in MODULES:
                    aliases[alias.asname or alias.name] = full
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_")):
            raise AssertionError(f"{module} uses the private {aliases[node.value.id]}.{node.attr}")


@pytest.mark.parametrize("namespace", sorted(PUBLIC))
def test_public_names_of_0_1_still_import(namespace):
    module = importlib.import_module(namespace)
    missing = [name for name in PUBLIC[namespace] if not hasattr(module, name)]
    assert not missing, f"{namespace} lost {missing}"


@pytest.mark.parametrize("namespace", ["tfgan_kit", "tfgan_kit.callbacks", "tfgan_kit.metrics",
                                       "tfgan_kit.nets", "tfgan_kit.data", "tfgan_kit.losses",
                                       "tfgan_kit.regularizers", "tfgan_kit.distribute"])
def test_all_is_declared_and_true(namespace):
    module = importlib.import_module(namespace)
    assert hasattr(module, "__all__"), f"{namespace} declares no __all__"
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


def test_only_keras_access_touches_keras_private_names():
    private = ("_model_variables_moving_average", "_learning_rate", "_initial_epoch")
    for module, path in MODULES.items():
        if module != "tfgan_kit._internal.keras_access":
            source = open(path).read()
            assert not [p for p in private if f".{p}" in source], module
            assert "keras.src" not in source, module


@pytest.mark.slow
def test_importing_the_package_changes_no_global_state():
    code = (
        "import logging, matplotlib, keras\n"
        "before = (matplotlib.rcParams._get_backend_or_none(), keras.mixed_precision.global_policy().name)\n"
        "import tfgan_kit\n"
        "after = (matplotlib.rcParams._get_backend_or_none(), keras.mixed_precision.global_policy().name)\n"
        "assert before == after, (before, after)\n"
        "assert not logging.getLogger('tfgan_kit').handlers\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": ""}
    env.pop("MPLBACKEND")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_module_calls_matplotlib_use():
    for module, path in MODULES.items():
        assert "matplotlib.use(" not in open(path).read(), module
