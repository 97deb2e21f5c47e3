"""Makes the figures of docs/concepts.md with tfgan_kit itself (about 2 minutes on 2 CPU cores).

    python docs/assets/concepts/make_figures.py

Three runs on the bundled 8x8 digits, identical but for one thing each:
- healthy: the default recipe;
- imbalanced: the discriminator's learning rate x100 (it overpowers the generator);
- collapsed: a generator whose noise input is zeroed and frozen (it ignores z).
"""

import os

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tfgan_kit  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS = 40
LATENT = 32


def train(kind: str):
    keras.utils.set_random_seed(0)
    generator = tfgan_kit.dcgan_generator((8, 8, 1), LATENT, width=32)
    if kind == "collapsed":
        projection = next(l for l in generator.layers if isinstance(l, keras.layers.Dense))
        projection.kernel.assign(np.zeros(projection.kernel.shape, np.float32))
        projection.trainable = False  # The output no longer depends on z.
    gan = tfgan_kit.GAN(generator, tfgan_kit.dcgan_discriminator((8, 8, 1), width=32),
                        latent_dim=LATENT, seed=0)
    d_lr = 2e-2 if kind == "imbalanced" else 2e-4
    gan.compile(d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    data = tfgan_kit.load_dataset("digits", batch_size=64, seed=0)
    history = gan.fit(data, epochs=EPOCHS, verbose=0).history
    return gan, history


def main():
    runs = {kind: train(kind) for kind in ("healthy", "imbalanced", "collapsed")}
    for kind in ("healthy", "collapsed"):
        tfgan_kit.save_image_grid(runs[kind][0].generate(64, seed=1),
                                  os.path.join(HERE, f"{kind}_samples.png"), scale=4)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, kind in zip(axes, ("healthy", "imbalanced")):
        history = runs[kind][1]
        epochs = np.arange(1, EPOCHS + 1)
        ax.plot(epochs, history["d_real"], label="D(x)")
        ax.plot(epochs, history["d_fake"], label="D(G(z))")
        ax.plot(epochs, history["d_acc_fake"], "--", label="D accuracy on fakes")
        ax.set(title=f"{kind}: D lr {'2e-2' if kind == 'imbalanced' else '2e-4'}",
               xlabel="epoch", ylim=(0, 1))
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "balance_curves.png"), dpi=90)
    for kind, (gan, history) in runs.items():
        print(f"{kind:>10}: final D(x)={history['d_real'][-1]:.2f} "
              f"D(G(z))={history['d_fake'][-1]:.2f} acc_fake={history['d_acc_fake'][-1]:.2f}")


if __name__ == "__main__":
    main()
