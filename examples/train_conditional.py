"""Train a class-conditional GAN and check that it draws the class it is asked for.

This is `train_dcgan.py --labels`: the same flags, measured defaults and monitors, with
`--labels` on and its own output folder. The generator sees the label at every layer (a
per-class gain and bias after each batch norm, so z keeps its say);
the discriminator projects a label embedding onto its last features
(`--conditioning=projection`, the default) or sees the label as an extra image channel
(`--conditioning=channel`). Grids show one class a row. For in-memory sources, a
logistic-regression classifier fitted on the real images then reads each generated
image and the script reports how often its verdict equals the requested label (chance
is 1 / num_classes). With no flags it trains on scikit-learn's bundled 8x8 digits,
offline:

    python examples/train_conditional.py
    python examples/train_conditional.py --dataset=idx:../shared/data/mnist --epochs=20
    python examples/train_conditional.py --dataset=folder:emoji --image_size=32   # a class a sub-folder
"""

from absl import app, flags

import train_dcgan

flags.FLAGS.set_default("labels", True)
flags.FLAGS.set_default("output_dir", "runs/conditional")
flags.FLAGS.set_default("model_name", "conditional")

if __name__ == "__main__":
    app.run(train_dcgan.main)
