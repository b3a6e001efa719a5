"""Writing a model for other runtimes: ``onnx`` (``model.export(path, format="onnx")``)."""
