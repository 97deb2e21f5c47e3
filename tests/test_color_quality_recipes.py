"""benchmarks/color_quality.py's recipes stay commands of examples/train_dcgan.py (fast: no training)."""

import os
import subprocess
import sys

from conftest import REPO

CHECK = """
import shlex, sys
sys.path.insert(0, {benchmarks!r})
import color_quality as cq
FLAGS = cq.FLAGS
defaults = {{k: FLAGS[k].default for k in cq.TRAINING_FLAGS}}
auto = cq.train_dcgan.auto_recipe((32, 32, 3))
assert cq.recipe_flags("defaults", 32) == defaults | cq.train_dcgan.RECIPES.get(auto, {{}}) | {{"recipe": auto}}
for name in cq.RECIPES:
    argv = shlex.split(cq.command(name, "/data", 32))[1:]  # the example's flags, parsed and validated
    FLAGS.unparse_flags()
    FLAGS(argv)
    for key, value in cq.RECIPES[name].items():
        assert FLAGS[key].value == value, (name, key, FLAGS[key].value, value)
print("ok", len(cq.RECIPES))
"""


def test_every_recipe_is_a_valid_train_dcgan_command():
    result = subprocess.run([sys.executable, "-c", CHECK.format(benchmarks=os.path.join(REPO, "benchmarks"))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")
