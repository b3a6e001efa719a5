"""Recurrent layers, Masking and the wrappers: LSTM and GRU with
return_sequences on and off, SimpleRNN, Bidirectional, TimeDistributed, and
masks from Embedding(mask_zero=True) and from Masking."""

SEQUENCE = (5, 3)  # steps, features

CASES = [
    {"name": "lstm_last", "layers": [("LSTM", {"units": 4})], "input_shape": SEQUENCE},
    {
        "name": "lstm_sequences",
        "layers": [("LSTM", {"units": 3, "return_sequences": True})],
        "input_shape": SEQUENCE,
    },
    {"name": "gru_last", "layers": [("GRU", {"units": 4})], "input_shape": SEQUENCE},
    {
        "name": "gru_sequences_reset_before",
        "layers": [("GRU", {"units": 3, "return_sequences": True, "reset_after": False})],
        "input_shape": SEQUENCE,
    },
    {
        "name": "simple_rnn_backwards",
        "layers": [("SimpleRNN", {"units": 3, "go_backwards": True, "return_sequences": True})],
        "input_shape": SEQUENCE,
    },
    {
        "name": "bidirectional_lstm",
        "layers": [
            (
                "Bidirectional",
                {"layer": {"class_name": "LSTM", "config": {"units": 3, "return_sequences": True}}},
            ),
            ("GRU", {"units": 2}),
        ],
        "input_shape": SEQUENCE,
    },
    {
        "name": "embedding_mask_lstm",
        "layers": [
            ("Embedding", {"input_dim": 6, "output_dim": 3, "mask_zero": True}),
            ("LSTM", {"units": 3, "return_sequences": True}),
            ("LSTM", {"units": 2}),
        ],
        "input_shape": (6,),
        "inputs": {"tokens": 6},
    },
    {
        "name": "masking_bidirectional_gru",
        "layers": [
            ("Masking", {"mask_value": 0.0}),
            (
                "Bidirectional",
                {"layer": {"class_name": "GRU", "config": {"units": 2}}, "merge_mode": "sum"},
            ),
        ],
        "input_shape": SEQUENCE,
        "inputs": {"zeroed_steps": 0.4},
    },
    {
        "name": "time_distributed_dense",
        "layers": [
            ("LSTM", {"units": 3, "return_sequences": True}),
            ("TimeDistributed", {"layer": {"class_name": "Dense", "config": {"units": 2}}}),
        ],
        "input_shape": SEQUENCE,
    },
]
