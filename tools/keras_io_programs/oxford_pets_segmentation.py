# keras.io: "Image segmentation with a U-Net-like architecture",
# https://keras.io/examples/vision/oxford_pets_image_segmentation/
# (keras-io examples/vision/oxford_pets_image_segmentation.py): an
# Xception-style encoder (SeparableConv2D, BatchNormalization, residual
# Conv2D, add) and a decoder of Conv2DTranspose and UpSampling2D, per-pixel
# softmax over 3 classes. Survey version: two random 160x160 images and
# masks, one epoch.
# ruff: noqa  (keras.io's style is kept: legacy NumPy random, format(), ...)
import keras
import numpy as np
from keras import layers

img_size = (160, 160)
num_classes = 3
batch_size = 2
rng = np.random.default_rng(0)
train_images = rng.random((2,) + img_size + (3,)).astype("float32")
train_masks = rng.integers(0, num_classes, size=(2,) + img_size + (1,)).astype("uint8")


def get_model(img_size, num_classes):
    inputs = keras.Input(shape=img_size + (3,))
    x = layers.Conv2D(32, 3, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous_block_activation = x
    for filters in [64, 128, 256]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])
        previous_block_activation = x
    for filters in [256, 128, 64, 32]:
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.UpSampling2D(2)(x)
        residual = layers.UpSampling2D(2)(previous_block_activation)
        residual = layers.Conv2D(filters, 1, padding="same")(residual)
        x = layers.add([x, residual])
        previous_block_activation = x
    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)
    return keras.Model(inputs, outputs)


model = get_model(img_size, num_classes)
model.summary()
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy")
callbacks = [keras.callbacks.ModelCheckpoint("oxford_segmentation.keras", save_best_only=True)]
model.fit(
    train_images,
    train_masks,
    batch_size=batch_size,
    epochs=1,
    validation_data=(train_images, train_masks),
    callbacks=callbacks,
)
val_preds = model.predict(train_images)
mask = np.argmax(val_preds[0], axis=-1)
