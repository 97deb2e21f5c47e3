"""What picks the bfloat16 step's speed: the same configuration in fresh processes, under settings.

`throughput.py`'s bfloat16 runs fell into two speeds (~390 or ~600 images/s) in both
loops. This runs one configuration of it (`--config`, default `fit_bf16` on the
tutorial's MNIST networks) `--runs` times in fresh processes for each setting, interleaved,
and prints every run's images/s with what its process reported: whether TensorFlow's
grappler remapper failed on a fused op, and the float32 and bfloat16 matmul rates
measured in a process beside it (if those move too, the host moved, not the graph).

    python benchmarks/bf16_speeds.py                    # ~10 min on 2 cores
    python benchmarks/bf16_speeds.py --runs=3 --settings=default,one_inter_op

Settings (environment of the process):
- default: as a user runs it;
- one_inter_op: TF_NUM_INTEROP_THREADS=1 (one op at a time, each op on both cores);
- no_remapper: grappler's remapper off (no fused conv + bias + activation kernels);
- no_onednn: TF_ENABLE_ONEDNN_OPTS=0 (Eigen kernels instead of oneDNN's).
"""

import json
import os
import statistics
import subprocess
import sys

from absl import app, flags
from record import write_json

HERE = os.path.dirname(os.path.abspath(__file__))
SETTINGS = {
    "default": {},
    "one_inter_op": {"TF_NUM_INTEROP_THREADS": "1"},
    "no_remapper": {"TFGAN_BENCH_NO_REMAPPER": "1"},
    "no_onednn": {"TF_ENABLE_ONEDNN_OPTS": "0"},
}

flags.DEFINE_integer("runs", 4, "Fresh processes per setting.", lower_bound=1)
flags.DEFINE_list("settings", list(SETTINGS), "Settings to compare.")
flags.DEFINE_string("config", "fit_bf16", "throughput.py configuration to time.")
flags.DEFINE_integer("limit", 4096, "MNIST images per epoch.", lower_bound=256)
flags.DEFINE_string("json", "runs/bf16_speeds.json", "Where every run's numbers are written.")
FLAGS = flags.FLAGS


def throughput(config: str, env: dict) -> tuple:
    """(result dict, stderr) of one `throughput.py --config=...` process."""
    args = [sys.executable, os.path.join(HERE, "throughput.py"), f"--config={config}",
            f"--limit={FLAGS.limit}", "--repeats=2", "--gemm_size=2048"]
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **env})
    if done.returncode or "RESULT " not in done.stdout:
        raise RuntimeError(f"{config} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.split("RESULT ", 1)[1]), done.stderr


def main(argv):
    del argv
    runs = {name: [] for name in FLAGS.settings}
    for i in range(FLAGS.runs):
        for name in FLAGS.settings:
            env = SETTINGS[name]
            result, stderr = throughput(FLAGS.config, env)
            gemm = {c: throughput(c, env)[0]["gflops"] for c in ("gemm_float32", "gemm_bfloat16")}
            runs[name].append({"images_per_s": result["images_per_s"],
                               "remapper_failed": "remapper failed" in stderr, **gemm})
            r = runs[name][-1]
            print(f"run {i + 1}, {name}: {r['images_per_s']:.0f} images/s, remapper failed: "
                  f"{r['remapper_failed']}, matmul f32 {r['gemm_float32']:.0f} / bf16 "
                  f"{r['gemm_bfloat16']:.0f} GFLOP/s", flush=True)
            write_json(FLAGS.json, runs)
    print(f"\n{FLAGS.config}, {FLAGS.limit} MNIST images, {FLAGS.runs} fresh processes per setting:\n")
    print("| setting | images/s per run | median | max / min | matmul bf16 GFLOP/s per run |")
    print("| --- | --- | --- | --- | --- |")
    for name, rs in runs.items():
        speeds = [r["images_per_s"] for r in rs]
        each = ", ".join(f"{s:.0f}" for s in speeds)
        gemm = ", ".join(f"{r['gemm_bfloat16']:.0f}" for r in rs)
        print(f"| {name} | {each} | {statistics.median(speeds):.0f} | "
              f"{max(speeds) / min(speeds):.2f} | {gemm} |")


if __name__ == "__main__":
    app.run(main)
