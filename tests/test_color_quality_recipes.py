"""benchmarks/color_quality.py's recipes stay commands of examples/train_dcgan.py (fast: no training)."""

import os
import subprocess
import sys

import pytest

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


GROUPS = """
import json, os, sys
sys.path.insert(0, {benchmarks!r})
import color_judge
with open(os.path.join(color_judge.JUDGES, "metadata.json")) as f:
    names = json.load(f)["openmoji32"]["classes"]
owners = color_judge.class_groups(names)
folders = sorted(d for d in os.listdir(color_judge.DATA) if os.path.isdir(os.path.join(color_judge.DATA, d)))
assert [n for n, o in zip(names, owners) if o is None] == ["misc"], list(zip(names, owners))
assert set(owners) - {{None}} <= set(folders), set(owners) - set(folders)
assert owners[names.index("face-smiling")] == "smileys-emotion"
assert owners[names.index("activities/other")] == "activities"
print("ok", len(set(owners) - {{None}}))
"""


@pytest.mark.skipif(not os.path.isfile(os.path.join(REPO, "..", "shared", "data", "openmoji64_index.csv")),
                    reason="the OpenMoji benchmark data (../shared/data/openmoji64*) is not beside this checkout")
def test_judge_classes_map_to_the_group_folders_a_conditional_gan_is_given():
    result = subprocess.run([sys.executable, "-c", GROUPS.format(benchmarks=os.path.join(REPO, "benchmarks"))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ok")
