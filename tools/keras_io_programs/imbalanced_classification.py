# keras.io: "Imbalanced classification: credit card fraud detection",
# https://keras.io/examples/structured_data/imbalanced_classification/
# (keras-io examples/structured_data/imbalanced_classification.py): a Dense
# and Dropout classifier with the confusion-matrix metrics, Precision,
# Recall, ModelCheckpoint and class_weight. Survey version: 29 normalized
# random features and rare positives in place of the CSV file, one epoch.
# ruff: noqa  (keras.io's style is kept: legacy NumPy random, format(), ...)
import keras
import numpy as np

rng = np.random.default_rng(0)
train_features = rng.normal(size=(1024, 29)).astype("float32")
train_targets = (rng.random((1024, 1)) < 0.05).astype("uint8")
val_features = rng.normal(size=(256, 29)).astype("float32")
val_targets = (rng.random((256, 1)) < 0.05).astype("uint8")
counts = np.bincount(train_targets[:, 0])
print(
    "Number of positive samples in training data: {} ({:.2f}% of total)".format(
        counts[1], 100 * float(counts[1]) / len(train_targets)
    )
)
weight_for_0 = 1.0 / counts[0]
weight_for_1 = 1.0 / counts[1]

mean = np.mean(train_features, axis=0)
train_features -= mean
val_features -= mean
std = np.std(train_features, axis=0)
train_features /= std
val_features /= std

model = keras.Sequential(
    [
        keras.Input(shape=train_features.shape[1:]),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
model.summary()
metrics = [
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
]
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics)
callbacks = [keras.callbacks.ModelCheckpoint("fraud_model_at_epoch_{epoch}.keras")]
class_weight = {0: weight_for_0, 1: weight_for_1}
model.fit(
    train_features,
    train_targets,
    batch_size=2048,
    epochs=1,
    verbose=2,
    callbacks=callbacks,
    validation_data=(val_features, val_targets),
    class_weight=class_weight,
)
