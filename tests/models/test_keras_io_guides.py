"""keras.io's guide "The Functional API" (guides/functional_api.py), the parts
that need only the layers gradstep has, run with the import swapped
(``import gradstep as keras``). Trimmed to small synthetic data: MNIST's
arrays are random ones of its shapes, and ``keras.utils.plot_model`` lines
are left out. Each program must run and give what the guide says."""

import re
import textwrap

import numpy as np

PRELUDE = """
import numpy as np
import gradstep as keras
from gradstep import layers
"""


def run(program: str, tmp_path, monkeypatch) -> dict:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(PRELUDE + textwrap.dedent(program), namespace)  # noqa: S102 - the guide's code
    return namespace


def test_the_first_model_trains_evaluates_and_saves(tmp_path, monkeypatch, capsys):
    found = run(
        """
        keras.utils.set_random_seed(0)
        inputs = keras.Input(shape=(784,))
        img_inputs = keras.Input(shape=(32, 32, 3))
        shape, dtype = inputs.shape, inputs.dtype

        dense = layers.Dense(64, activation="relu")
        x = dense(inputs)
        x = layers.Dense(64, activation="relu")(x)
        outputs = layers.Dense(10)(x)
        model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
        model.summary()

        rng = np.random.default_rng(0)
        y_train = rng.integers(0, 10, size=600)  # ten "digits": a pattern each, and noise
        x_train = (rng.random((10, 784))[y_train] + rng.random((600, 784))).astype("float32") / 2
        x_test, y_test = x_train[:100], y_train[:100]

        model.compile(
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            optimizer=keras.optimizers.RMSprop(),
            metrics=["accuracy"],
        )
        history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2)
        test_scores = model.evaluate(x_test, y_test, verbose=2)
        print("Test loss:", test_scores[0])
        print("Test accuracy:", test_scores[1])

        model.save("my_model.keras")
        predicted = model.predict(x_test)
        del model
        model = keras.models.load_model("my_model.keras")
        """,
        tmp_path,
        monkeypatch,
    )
    assert found["shape"] == (None, 784) and found["dtype"] == "float32"
    out = capsys.readouterr().out
    assert 'Model: "mnist_model"' in out and "Total params: 55050 (215.04 KB)" in out
    assert sorted(found["history"].history) == [
        "accuracy",
        "learning_rate",
        "loss",
        "val_accuracy",
        "val_loss",
    ]
    assert found["test_scores"][1] > 0.5  # Keras 3 reaches 0.68 on these data, chance is 0.1
    np.testing.assert_array_equal(
        found["model"].predict(found["x_test"], verbose=0), found["predicted"]
    )


def test_an_ensemble_of_models_averages_their_predictions(tmp_path, monkeypatch):
    found = run(
        """
        def get_model():
            inputs = keras.Input(shape=(128,))
            outputs = layers.Dense(1)(inputs)
            return keras.Model(inputs, outputs)

        model1 = get_model()
        model2 = get_model()
        model3 = get_model()

        inputs = keras.Input(shape=(128,))
        y1 = model1(inputs)
        y2 = model2(inputs)
        y3 = model3(inputs)
        outputs = layers.average([y1, y2, y3])
        ensemble_model = keras.Model(inputs=inputs, outputs=outputs)

        data = np.random.default_rng(1).normal(size=(4, 128))
        averaged = ensemble_model.predict(data, verbose=0)
        members = [m.predict(data, verbose=0) for m in (model1, model2, model3)]
        """,
        tmp_path,
        monkeypatch,
    )
    np.testing.assert_allclose(found["averaged"], np.mean(found["members"], axis=0), rtol=1e-6)
    assert found["ensemble_model"].count_params() == 3 * 129


def test_intermediate_outputs_make_a_feature_extraction_model(tmp_path, monkeypatch):
    found = run(
        """
        inputs = keras.Input(shape=(16,))
        x = layers.Dense(8, activation="relu")(inputs)
        x = layers.Dense(8, activation="relu")(x)
        outputs = layers.Dense(3)(x)
        model = keras.Model(inputs, outputs)

        features_list = [layer.output for layer in model.layers]
        feat_extraction_model = keras.Model(inputs=model.input, outputs=features_list)

        img = np.random.random((1, 16)).astype("float32")
        extracted_features = feat_extraction_model(img)
        """,
        tmp_path,
        monkeypatch,
    )
    features = found["extracted_features"]
    assert [f.shape for f in features] == [(1, 16), (1, 8), (1, 8), (1, 3)]
    np.testing.assert_allclose(features[-1], found["model"].predict(found["img"], verbose=0))


def test_losses_and_weights_per_output_by_list_or_by_name(tmp_path, monkeypatch):
    """The ticket-routing model's compile and fit, with Dense layers standing in
    for its Embedding and LSTM (which gradstep does not have yet)."""
    found = run(
        """
        num_tags = 12
        num_departments = 4

        title_input = keras.Input(shape=(10,), name="title")
        body_input = keras.Input(shape=(20,), name="body")
        tags_input = keras.Input(shape=(num_tags,), name="tags")
        title_features = layers.Dense(16, activation="relu")(title_input)
        body_features = layers.Dense(8, activation="relu")(body_input)
        x = layers.concatenate([title_features, body_features, tags_input])
        priority_pred = layers.Dense(1, name="priority")(x)
        department_pred = layers.Dense(num_departments, name="department")(x)
        model = keras.Model(
            inputs=[title_input, body_input, tags_input],
            outputs=[priority_pred, department_pred],
        )

        model.compile(
            optimizer=keras.optimizers.RMSprop(1e-3),
            loss=[
                keras.losses.BinaryCrossentropy(from_logits=True),
                keras.losses.CategoricalCrossentropy(from_logits=True),
            ],
            loss_weights=[1.0, 0.2],
        )
        model.compile(
            optimizer=keras.optimizers.RMSprop(1e-3),
            loss={
                "priority": keras.losses.BinaryCrossentropy(from_logits=True),
                "department": keras.losses.CategoricalCrossentropy(from_logits=True),
            },
            loss_weights={"priority": 1.0, "department": 0.2},
        )

        title_data = np.random.random(size=(128, 10))
        body_data = np.random.random(size=(128, 20))
        tags_data = np.random.randint(2, size=(128, num_tags)).astype("float32")
        priority_targets = np.random.random(size=(128, 1))
        dept_targets = np.random.randint(2, size=(128, num_departments))

        history = model.fit(
            {"title": title_data, "body": body_data, "tags": tags_data},
            {"priority": priority_targets, "department": dept_targets},
            epochs=2,
            batch_size=32,
            verbose=0,
        )
        """,
        tmp_path,
        monkeypatch,
    )
    logs = found["history"].history
    assert {"loss", "priority_loss", "department_loss"} <= set(logs)
    total = np.array(logs["priority_loss"]) + 0.2 * np.array(logs["department_loss"])
    np.testing.assert_allclose(logs["loss"], total, rtol=1e-5)


def test_a_subclassed_mlp_is_built_by_its_first_call(tmp_path, monkeypatch):
    found = run(
        """
        class MLP(keras.Model):

            def __init__(self, **kwargs):
                super(MLP, self).__init__(**kwargs)
                self.dense_1 = layers.Dense(64, activation='relu')
                self.dense_2 = layers.Dense(10)

            def call(self, inputs):
                x = self.dense_1(inputs)
                return self.dense_2(x)

        mlp = MLP()
        _ = mlp(np.zeros((1, 32)))
        """,
        tmp_path,
        monkeypatch,
    )
    assert found["_"].shape == (1, 10) and found["mlp"].count_params() == 32 * 64 + 64 + 650


def test_the_convolutional_autoencoder_of_nested_models_trains(tmp_path, monkeypatch):
    """ "All models are callable, just like layers": an encoder (Conv2D,
    MaxPooling2D, GlobalMaxPooling2D) and a decoder (Reshape, Conv2DTranspose,
    UpSampling2D) chained as layers of an autoencoder; the guide's parameter
    counts, which Keras 3 gives too (18672, 9569, 28241)."""
    found = run(
        """
        encoder_input = keras.Input(shape=(28, 28, 1), name="original_img")
        x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
        x = layers.Conv2D(32, 3, activation="relu")(x)
        x = layers.MaxPooling2D(3)(x)
        x = layers.Conv2D(32, 3, activation="relu")(x)
        x = layers.Conv2D(16, 3, activation="relu")(x)
        encoder_output = layers.GlobalMaxPooling2D()(x)

        encoder = keras.Model(encoder_input, encoder_output, name="encoder")
        encoder.summary()

        decoder_input = keras.Input(shape=(16,), name="encoded_img")
        x = layers.Reshape((4, 4, 1))(decoder_input)
        x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
        x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
        x = layers.UpSampling2D(3)(x)
        x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
        decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)

        decoder = keras.Model(decoder_input, decoder_output, name="decoder")
        decoder.summary()

        autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
        encoded_img = encoder(autoencoder_input)
        decoded_img = decoder(encoded_img)
        autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
        autoencoder.summary()

        keras.utils.set_random_seed(0)
        images = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
        autoencoder.compile(optimizer="adam", loss="mse")
        history = autoencoder.fit(images, images, batch_size=16, epochs=3, verbose=0)
        """,
        tmp_path,
        monkeypatch,
    )
    counts = [found[name].count_params() for name in ("encoder", "decoder", "autoencoder")]
    assert counts == [18672, 9569, 28241]
    assert found["autoencoder"].output.shape == (None, 28, 28, 1)
    losses = found["history"].history["loss"]
    assert losses[-1] < losses[0]


def test_the_toy_resnet_trains_on_cifar_shaped_data(tmp_path, monkeypatch, capsys):
    """ "A toy ResNet model": Conv2D with 'same' padding, residual adds,
    GlobalAveragePooling2D, Dropout; 223,242 parameters as the guide (and
    Keras 3) counts them. CIFAR10 is 200 random images of its shape here."""
    found = run(
        """
        inputs = keras.Input(shape=(32, 32, 3), name="img")
        x = layers.Conv2D(32, 3, activation="relu")(inputs)
        x = layers.Conv2D(64, 3, activation="relu")(x)
        block_1_output = layers.MaxPooling2D(3)(x)

        x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
        x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
        block_2_output = layers.add([x, block_1_output])

        x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
        x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
        block_3_output = layers.add([x, block_2_output])

        x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dense(256, activation="relu")(x)
        x = layers.Dropout(0.5)(x)
        outputs = layers.Dense(10)(x)

        model = keras.Model(inputs, outputs, name="toy_resnet")
        model.summary()

        rng = np.random.default_rng(0)
        x_train = rng.integers(0, 256, size=(200, 32, 32, 3)).astype("float32") / 255.0
        y_train = keras.utils.to_categorical(rng.integers(0, 10, size=200), 10)

        model.compile(
            optimizer=keras.optimizers.RMSprop(1e-3),
            loss=keras.losses.CategoricalCrossentropy(from_logits=True),
            metrics=["acc"],
        )
        history = model.fit(x_train, y_train, batch_size=64, epochs=1, validation_split=0.2)
        """,
        tmp_path,
        monkeypatch,
    )
    out = capsys.readouterr().out
    assert "Total params: 223242 (872.04 KB)" in out
    # a branched model's table; the Add layer's name counts Adds made earlier in the process
    assert "Connected to" in out and re.search(r"\badd(_\d+)? \(Add\)", out)
    assert sorted(found["history"].history) == [
        "acc",
        "learning_rate",
        "loss",
        "val_acc",
        "val_loss",
    ]


def test_a_shared_embedding_encodes_two_text_inputs(tmp_path, monkeypatch):
    """ "Shared layers": one Embedding called on two int32 inputs of any length."""
    found = run(
        """
        shared_embedding = layers.Embedding(1000, 128)
        text_input_a = keras.Input(shape=(None,), dtype="int32")
        text_input_b = keras.Input(shape=(None,), dtype="int32")
        encoded_input_a = shared_embedding(text_input_a)
        encoded_input_b = shared_embedding(text_input_b)
        model = keras.Model([text_input_a, text_input_b], [encoded_input_a, encoded_input_b])
        a, b = model.predict([np.array([[1, 2, 3]]), np.array([[3, 2, 1]])], verbose=0)
        """,
        tmp_path,
        monkeypatch,
    )
    assert found["encoded_input_a"].shape == (None, None, 128)
    np.testing.assert_array_equal(found["a"][0, ::-1], found["b"][0])
    assert found["model"].count_params() == 128000
