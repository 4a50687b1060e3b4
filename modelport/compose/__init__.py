"""A Keras model with its scikit-learn preprocessing in front, as one artifact (issue 13, item 6).

``modelport convert model.h5 --preprocess prep.skops --to onnx,pmml`` writes one ONNX graph (the
skl2onnx graph of the transformer composed in front of the Keras graph) and one PMML document (the
transformer as DerivedFields feeding the NeuralNetwork), both taking the *raw* columns, validated
against ``model.predict(prep.transform(X))``.

Modules:
``columns`` (the raw columns and what each step does to them), ``source`` (reads and checks the file
against the model), ``analysis`` (which target can hold the preprocessing), ``onnx`` and ``pmml``
(the composed artifacts), ``inputs`` (raw validation rows), ``validate`` (parity on raw rows against
two references), ``pipeline`` (convert: load, analyse, export, validate, manifest).
"""
