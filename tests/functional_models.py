"""Functional models written once for Keras and for gradstep: each builder
takes the library (``keras``, ``tf.keras`` or ``gradstep``), so that the tools
that record Keras's numbers and the tests that compare with them build the
same graph, with the same layer names."""


def two_inputs_shared_residual(keras):
    """Two inputs; one Dense shared by both branches; a residual Add."""
    layers = keras.layers
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(3,), name="b")
    shared = layers.Dense(5, activation="tanh", name="shared")
    branch_a = shared(layers.Dense(3, name="proj_a")(a))
    branch_b = shared(b)
    merged = layers.Add(name="merge")([branch_a, branch_b])
    hidden = layers.Dense(5, activation="relu", name="hidden")(merged)
    residual = layers.Add(name="residual")([hidden, merged])
    out = layers.Dense(2, name="out")(residual)
    return keras.Model([a, b], out, name="two_inputs")


def two_outputs(keras):
    """One input, a classifier head (softmax) and a regression head."""
    layers = keras.layers
    x = keras.Input(shape=(6,), name="features")
    trunk = layers.Dense(8, activation="relu", name="trunk")(x)
    label = layers.Dense(3, activation="softmax", name="label")(trunk)
    score = layers.Dense(1, name="score")(layers.Concatenate(name="cat")([trunk, x]))
    return keras.Model(x, [label, score], name="two_outputs")


def every_merge(keras):
    """Each merge layer, all feeding one output."""
    layers = keras.layers
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(3,), name="b")
    pa = layers.Dense(3, activation="tanh", name="pa")(a)
    pb = layers.Dense(3, activation="sigmoid", name="pb")(b)
    merged = [
        layers.Subtract(name="subtract")([pa, pb]),
        layers.Multiply(name="multiply")([pa, pb, a]),
        layers.Average(name="average")([pa, pb]),
        layers.Maximum(name="maximum")([pa, pb, b]),
        layers.Minimum(name="minimum")([pa, pb]),
    ]
    joined = layers.Concatenate(name="join")(merged)
    out = layers.Dense(1, name="out")(joined)
    return keras.Model([a, b], out, name="every_merge")


def shared_at_two_depths(keras):
    """The same layer twice in a chain: square(square(x)) with one kernel."""
    layers = keras.layers
    x = keras.Input(shape=(4,), name="x")
    square = layers.Dense(4, activation="tanh", name="square")
    out = layers.Dense(1, name="out")(square(square(x)))
    return keras.Model(x, out, name="shared_twice")


def a_chain(keras):
    """The reference model, functional: a chain with its InputLayer."""
    layers = keras.layers
    inputs = keras.Input(shape=(64,), name="pixels")
    hidden = layers.Dense(512, activation="relu", name="dense")(inputs)
    outputs = layers.Dense(10, activation="softmax", name="dense_1")(hidden)
    return keras.Model(inputs, outputs, name="functional_chain")


def long_names_and_a_flatten_called_twice(keras):
    """Fields too long for their columns, and a layer whose calls' shapes differ."""
    layers = keras.layers
    images = keras.Input(shape=(2, 3), name="images_with_a_rather_long_name")
    vectors = keras.Input(shape=(4,), name="vectors")
    flatten = layers.Flatten(name="flatten_shared_between_branches")
    joined = layers.Concatenate(name="concatenate")([flatten(images), flatten(vectors)])
    outputs = layers.Dense(1, name="a_dense_layer_with_a_long_name")(joined)
    return keras.Model([images, vectors], outputs, name="wrapped")


def mnist_convnet(keras):
    """keras.io's "Simple MNIST convnet", with its layers named."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu", name="conv2d"),
            layers.MaxPooling2D(pool_size=(2, 2), name="max_pooling2d"),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu", name="conv2d_1"),
            layers.MaxPooling2D(pool_size=(2, 2), name="max_pooling2d_1"),
            layers.Flatten(name="flatten"),
            layers.Dropout(0.5, name="dropout"),
            layers.Dense(10, activation="softmax", name="dense"),
        ],
        name="mnist_convnet",
    )


def batchnorm_mlp(keras):
    """A multilayer perceptron with batch normalization between its layers."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(64,), name="pixels"),
            layers.Dense(128, use_bias=False, name="dense"),
            layers.BatchNormalization(name="batch_normalization"),
            layers.Activation("relu", name="relu"),
            layers.Dense(64, use_bias=False, name="dense_1"),
            layers.BatchNormalization(name="batch_normalization_1"),
            layers.Activation("relu", name="relu_1"),
            layers.Dense(10, activation="softmax", name="dense_2"),
        ],
        name="batchnorm_mlp",
    )


def encoder_decoder(keras):
    """keras.io's sequence-to-sequence shape: an LSTM encoder's final states
    (``return_state=True``) start an LSTM decoder."""
    layers = keras.layers
    source = keras.Input(shape=(5, 3), name="encoder_inputs")
    target = keras.Input(shape=(6, 2), name="decoder_inputs")
    _, state_h, state_c = layers.LSTM(4, return_state=True, name="encoder")(source)
    decoded = layers.LSTM(4, return_sequences=True, name="decoder")(
        target, initial_state=[state_h, state_c]
    )
    out = layers.Dense(2, name="out")(decoded)
    return keras.Model([source, target], out, name="encoder_decoder")


def recurrent_states_as_features(keras):
    """A GRU's sequence and final state, and a Bidirectional LSTM's five
    outputs, used side by side."""
    layers = keras.layers
    x = keras.Input(shape=(5, 3), name="x")
    sequence, state = layers.GRU(3, return_sequences=True, return_state=True, name="gru")(x)
    pooled = layers.GlobalAveragePooling1D(name="pool")(sequence)
    both = layers.Bidirectional(layers.LSTM(2, return_state=True), name="bi")(x)
    output, forward_h, forward_c, backward_h, backward_c = both
    joined = layers.Concatenate(name="join")(
        [pooled, state, output, forward_h, backward_c, forward_c, backward_h]
    )
    out = layers.Dense(2, name="out")(joined)
    return keras.Model(x, out, name="recurrent_states")


def attention_scores_as_features(keras):
    """A causal self-attention whose scores (``return_attention_scores=True``)
    are features beside its output."""
    layers = keras.layers
    x = keras.Input(shape=(4, 6), name="x")
    attended, scores = layers.MultiHeadAttention(2, 3, name="mha")(
        x, x, return_attention_scores=True, use_causal_mask=True
    )
    pooled = layers.GlobalAveragePooling1D(name="pool")(attended)
    joined = layers.Concatenate(name="join")([pooled, layers.Flatten(name="flat")(scores)])
    out = layers.Dense(2, name="out")(joined)
    return keras.Model(x, out, name="attention_scores")
