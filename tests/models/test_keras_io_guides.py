"""keras.io's guide "The Functional API" (guides/functional_api.py), the parts
that need only the layers gradstep has, run with the import swapped
(``import gradstep as keras``). Trimmed to small synthetic data: MNIST's
arrays are random ones of its shapes, and ``keras.utils.plot_model`` lines
are left out. Each program must run and give what the guide says."""

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
