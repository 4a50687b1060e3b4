"""SavedModel directory with a ``serving_default`` signature keyed by the Keras input/output names.

Loadable by ``tf.saved_model.load`` and by the TF C API / TF Java (tag ``serve``); the graph tensor
names behind the signature are recorded so a C or Java caller can feed and fetch them directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelport.convert.base import Artifact, ExportOptions
from modelport.convert.tf_graph import TracedTarget
from modelport.spec import ModelSpec

SIGNATURE = "serving_default"


class SavedModelConverter(TracedTarget):
    target = "savedmodel"
    sources = ("keras",)  # the kinds of source it converts (modelport.convert.get picks by kind)
    suffix = ""  # a directory
    description = "TensorFlow SavedModel (TF Serving, TF Java, TF C API)"

    def export(self, model: Any, spec: ModelSpec, dest: Path, options: ExportOptions) -> Artifact:
        import tensorflow as tf

        from modelport.convert.tf_graph import library_versions, lookup_tables, tf_variable, trace

        traced = trace(model, spec)
        module = tf.Module()
        # track the tf.Variables themselves: the C API / TF Java loader cannot restore Keras 3 wrappers
        module.model_variables = [tf_variable(w) for w in model.weights]
        # and state the function reads but Keras does not count as a weight (an RNN dropout seed)
        known = {id(v) for v in module.model_variables}
        module.state_variables = [v for v in traced.concrete.variables if id(v) not in known]
        module.lookup_tables = lookup_tables(model)  # vocabularies of lookup layers, initialised on load
        module.serve = traced.concrete  # a ConcreteFunction is saved as traced; the tf.function would be traced again
        tf.saved_model.save(module, str(dest), signatures={SIGNATURE: traced.concrete})
        inputs, outputs = _signature_tensors(dest, [s.name for s in traced.input_signature],
                                             [t.name for t in spec.outputs])
        return Artifact(
            path=dest, format=self.target, inputs=list(spec.inputs), outputs=list(spec.outputs),
            details={
                "tag": "serve",
                "signature": SIGNATURE,
                "signature_inputs": [s.name for s in traced.input_signature],
                "input_tensors": inputs,
                "output_tensors": outputs,
            },
            producer=library_versions("tensorflow", "keras", "tf_keras"),
        )


def _signature_tensors(path: Path, input_keys: list[str], output_keys: list[str]) -> tuple[list[str], list[str]]:
    """Graph tensor names behind the signature's keys, read from saved_model.pb."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((path / "saved_model.pb").read_bytes())
    sig = saved.meta_graphs[0].signature_def[SIGNATURE]
    return [sig.inputs[k].name for k in input_keys], [sig.outputs[k].name for k in output_keys]
