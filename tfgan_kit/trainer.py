"""`GANTrainer`: the train and test steps of `tfgan_kit.GAN`, one tape per network.

Kept apart from the model as Keras keeps `TensorFlowTrainer` apart from `Model`:
this is what happens in one step; `GAN` holds the networks, configuration,
generation and serialization the steps read (`self.generator`, `self.d_loss_fn`,
`self.trackers`, ...). Read top to bottom: sample noise, discriminator step,
generator step, update the trackers.
"""

import tensorflow as tf

from tfgan_kit import distribute, regularizers
from tfgan_kit._internal import batches, sampling


class GANTrainer:
    """The steps `GAN.fit` and `GAN.evaluate` run (a mixin of `GAN`)."""

    def _unpack(self, data):
        images, labels = batches.unpack(data)
        if self.num_classes is None:
            labels = None
        elif labels is None:
            labels = tf.zeros(tf.shape(images)[:1], tf.int32)
        else:
            labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
        return images, labels

    def sample_latent(self, batch_size, seed) -> tf.Tensor:
        """Noise from the model's prior, deterministic in `seed` (a [2] int tensor)."""
        return sampling.sample_latent(self.latent_distribution, self.latent_dim, batch_size, seed)

    def _draw_seed(self) -> tf.Tensor:
        return sampling.draw_seed(self.seed_generator)

    def sample_inputs(self, batch_size):
        """Generator inputs for one step: noise, plus labels for a conditional GAN.

        Under a strategy each replica draws the noise one device would draw for
        the global batch and keeps its own slice: replicas get different noise,
        and N replicas train exactly like one device on the same global batch.
        """
        seed = sampling.draw_seed(self.seed_generator, per_replica=False)
        global_batch = batch_size * sampling.replica()[1]
        z = self.sample_latent(global_batch, seed)
        labels = None
        if self.num_classes is not None:
            labels = sampling.sample_labels(self.num_classes, global_batch, seed)
        return sampling.replica_slice(z, batch_size), sampling.replica_slice(labels, batch_size)

    def _generate(self, z, labels, training):
        inputs = z if labels is None else [z, labels]
        return self.generator(inputs, training=training)

    def _discriminate(self, images, labels, training, augment=False):
        """(logits, features) of D; features only when feature matching is on.

        `augment`: D sees the images through `self.augment` (a training pass).
        """
        if augment and self.augment is not None:
            images = self.augment.augment(images, sampling.draw_seed(self.seed_generator, False))
        inputs = images if labels is None else [images, labels]
        if self._d_features is None:
            return self.discriminator(inputs, training=training), None
        return self._d_features(inputs, training=training)

    def _d_loss(self, real, fake, real_logits, fake_logits, labels, fake_labels):
        loss = self.d_loss_fn(real_logits, fake_logits, 1.0 - self.label_smoothing)
        if self.gradient_penalty:
            loss += self.gradient_penalty * regularizers.gradient_penalty(
                self.discriminator, real, fake, self._draw_seed(), labels
            )
        if self.r1_gamma:
            loss += 0.5 * self.r1_gamma * regularizers.r1_penalty(
                self.discriminator, real, labels
            )
        if self.r2_gamma:
            loss += 0.5 * self.r2_gamma * regularizers.r2_penalty(
                self.discriminator, fake, fake_labels
            )
        if self._d_history is not None:
            loss += self.historical_averaging * self._d_history.penalty()
        return loss

    def _g_loss(self, fake_logits, real_logits, real_features, fake_features):
        if self._g_loss_reads_real:  # e.g. the relativistic loss: D(G(z)) against D(x)
            loss = self.g_loss_fn(fake_logits, tf.stop_gradient(real_logits))
        else:
            loss = self.g_loss_fn(fake_logits)
        if self._d_features is not None:
            loss += self.feature_matching_weight * regularizers.feature_matching_loss(
                real_features, fake_features
            )
        if self._g_history is not None:
            loss += self.historical_averaging * self._g_history.penalty()
        return loss

    def _apply(self, optimizer, tape, loss, network, history):
        """Gradients of `loss` for `network` only, applied by its own optimizer.

        The optimizer sums gradients across replicas, so each replica's gradient
        is divided by the replica count here (once) and the loss logged unscaled.
        Under mixed_float16 the factor also carries the optimizer's loss scale.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        factor = optimizer.scale_loss(tf.constant(1.0)) / replicas
        variables = network.trainable_variables
        grads = tape.gradient(loss, variables, output_gradients=tf.cast(factor, loss.dtype))
        optimizer.apply_gradients(zip(grads, variables))
        if history is not None:
            history.update()

    def train_step(self, data):
        real, labels = self._unpack(data)
        if self.step == "shared" and self.d_steps == 1 and self.g_steps == 1:
            d_loss, g_loss, real_logits, fake_logits = self._shared_step(real, labels)
        else:
            for _ in range(self.d_steps):
                d_loss, real_logits, fake_logits = self._discriminator_step(real, labels)
            for _ in range(self.g_steps):
                g_loss = self._generator_step(real, labels)
        return self._update_trackers(d_loss, g_loss, real_logits, fake_logits)

    def _shared_step(self, real, labels):
        """One forward pass watched by both tapes; each tape updates its own network."""
        z, fake_labels = self.sample_inputs(tf.shape(real)[0])
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            fake = self._generate(z, fake_labels, training=True)
            real_logits, real_features = self._discriminate(real, labels, True, augment=True)
            fake_logits, fake_features = self._discriminate(fake, fake_labels, True, augment=True)
            d_loss = self._d_loss(real, fake, real_logits, fake_logits, labels, fake_labels)
            g_loss = self._g_loss(fake_logits, real_logits, real_features, fake_features)
        self._apply(self.d_optimizer, d_tape, d_loss, self.discriminator, self._d_history)
        self._apply(self.g_optimizer, g_tape, g_loss, self.generator, self._g_history)
        self._observe(real_logits)
        return d_loss, g_loss, real_logits, fake_logits

    def _discriminator_step(self, real, labels):
        z, fake_labels = self.sample_inputs(tf.shape(real)[0])
        fake = self._generate(z, fake_labels, training=True)
        with tf.GradientTape() as tape:
            real_logits, _ = self._discriminate(real, labels, True, augment=True)
            fake_logits, _ = self._discriminate(fake, fake_labels, True, augment=True)
            loss = self._d_loss(real, fake, real_logits, fake_logits, labels, fake_labels)
        self._apply(self.d_optimizer, tape, loss, self.discriminator, self._d_history)
        self._observe(real_logits)
        return loss, real_logits, fake_logits

    def _generator_step(self, real, labels):
        """A fresh pass against the discriminator as it is after its update."""
        z, fake_labels = self.sample_inputs(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self._generate(z, fake_labels, training=True)
            fake_logits, fake_features = self._discriminate(fake, fake_labels, True, augment=True)
            real_logits = real_features = None
            if self._d_features is not None or self._g_loss_reads_real:
                real_logits, real_features = self._discriminate(real, labels, True, augment=True)
            loss = self._g_loss(fake_logits, real_logits, real_features, fake_features)
        self._apply(self.g_optimizer, tape, loss, self.generator, self._g_history)
        return loss

    def _observe(self, real_logits):
        """Lets adaptive augmentation read D's verdicts on the (augmented) real batch."""
        if self.augment is not None:
            self.augment.update(real_logits)

    def test_step(self, data):
        real, labels = self._unpack(data)
        z, fake_labels = self.sample_inputs(tf.shape(real)[0])
        fake = self._generate(z, fake_labels, training=False)
        real_logits, real_features = self._discriminate(real, labels, training=False)
        fake_logits, fake_features = self._discriminate(fake, fake_labels, training=False)
        d_loss = self.d_loss_fn(real_logits, fake_logits, 1.0 - self.label_smoothing)
        g_loss = self._g_loss(fake_logits, real_logits, real_features, fake_features)
        return self._update_trackers(d_loss, g_loss, real_logits, fake_logits)

    def _update_trackers(self, d_loss, g_loss, real_logits, fake_logits):
        real_logits = tf.cast(real_logits, tf.float32)
        fake_logits = tf.cast(fake_logits, tf.float32)
        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
            "d_acc_real": tf.reduce_mean(tf.cast(real_logits > 0, tf.float32)),
            "d_acc_fake": tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32)),
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        results = {name: tracker.result() for name, tracker in self.trackers.items()}
        if self.augment is not None:  # the augmentation probability, and ADA's r_t
            results["augment_p"] = self.augment.p.value
            if self.augment.adaptive:
                results["real_sign"] = self.augment.real_sign.value
        if distribute.is_multi_worker():
            # Keras reduces multi-worker step outputs with a mean over axis 0, which a
            # scalar lacks (keras #20585); a 1-element vector reduces to the global mean.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results
