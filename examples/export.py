"""Export the generator of a `.keras` GAN checkpoint for TF Serving.

Writes `<export_dir>/<model_name>/<version>/`, a SavedModel that plain TensorFlow (and
TF Serving) loads without tfgan_kit; the version is the next free integer by default:

    python examples/export.py --checkpoint=runs/dcgan/gan.keras --model_name=digits
    saved_model_cli show --dir saved_models/digits/1 --all
"""

from absl import app, flags

flags.DEFINE_string("checkpoint", None, "A `.keras` file saved by `GAN.save`.", required=True)
flags.DEFINE_string("export_dir", "saved_models", "The export root (TF Serving's models folder).")
flags.DEFINE_string("model_name", "generator", "Model name: the folder and TF Serving's MODEL_NAME.")
flags.DEFINE_integer("version", None, "Version number. Default: one more than the highest.",
                     lower_bound=1)
flags.DEFINE_bool("overwrite", False, "Replace an existing --version.")
flags.DEFINE_bool("use_ema", True, "Export the generator's EMA weights when it keeps them.")

FLAGS = flags.FLAGS


def main(argv):
    del argv
    import keras
    import tensorflow as tf

    import tfgan_kit  # noqa: F401  (registers GAN for loading)

    gan = keras.models.load_model(FLAGS.checkpoint)
    path = gan.export_generator(
        FLAGS.export_dir, FLAGS.model_name, version=FLAGS.version,
        overwrite=FLAGS.overwrite, use_ema=FLAGS.use_ema,
    )
    print(f"Exported {FLAGS.checkpoint} to {path}. Signatures:")
    for name, fn in tf.saved_model.load(path).signatures.items():
        inputs = fn.structured_input_signature[1]
        print(f"  {name}: " + ", ".join(
            f"{k} {v.dtype.name}{v.shape.as_list()}" for k, v in sorted(inputs.items())
        ) + " -> " + ", ".join(
            f"{k} {v.dtype.name}{v.shape.as_list()}" for k, v in sorted(fn.structured_outputs.items())
        ))


if __name__ == "__main__":
    app.run(main)
