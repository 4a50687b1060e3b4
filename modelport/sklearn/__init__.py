"""scikit-learn estimators and pipelines as a modelport source: sniffing, safe loading, the spec,
validation inputs, the reference predictions and the per-step verdicts of each target's backend.

scikit-learn, skops, skl2onnx, sklearn2pmml and nyoka are imported only inside functions, so
``modelport --help``, ``inspect`` and ``analyze`` of a Keras file never pay for them.
"""
