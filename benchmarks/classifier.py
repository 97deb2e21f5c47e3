"""The judges' network: the bundled digit classifiers and the color benchmark's judge share it."""


def build_classifier(image_shape, filters, num_features: int, name: str, num_classes: int = 10):
    """Conv-BN-ReLU blocks (max-pooled between) -> global average pooling -> `features`
    (ReLU: the feature space of FID and its kin) -> dropout -> `num_classes`-way softmax."""
    import keras
    from keras import layers

    inputs = keras.Input(image_shape, name="images")
    x = inputs
    for i, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        if i < len(filters) - 1:
            x = layers.MaxPooling2D(name=f"pool{i}")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    features = layers.Dense(num_features, activation="relu", name="features")(x)
    x = layers.Dropout(0.3, name="dropout")(features)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name=name)
