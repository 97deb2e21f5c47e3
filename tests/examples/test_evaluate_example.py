"""examples/evaluate.py prints a table of the metrics."""

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, tiny_gan

import tfgan_kit


@pytest.fixture(scope="module")
def digits():
    return tfgan_kit.load_arrays("digits", labels=True)


@pytest.mark.slow
def test_evaluate_example_prints_a_table(tmp_path, digits):
    gan = tiny_gan(latent_dim=8, width=8)
    gan.save(tmp_path / "gan.keras")
    out = tmp_path / "scores.json"
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "examples", "evaluate.py"), f"--model={tmp_path / 'gan.keras'}",
         "--dataset=digits", "--num_samples=300", "--metrics=fid,coverage,classes_covered",
         f"--output={out}"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| fid |" in result.stdout and "digits8" in result.stdout
    scores = json.loads(out.read_text())
    assert scores["num_fake"] == 300 and scores["fid"] > 0
