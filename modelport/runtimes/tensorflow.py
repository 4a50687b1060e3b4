"""TensorFlow: SavedModel through its serving signature, frozen pb and checkpoint through a v1 Session."""

from __future__ import annotations

from typing import Any

import numpy as np


class SignatureSession:
    def __init__(self, artifact: Any):
        import tensorflow as tf

        self._tf = tf
        self._loaded = tf.saved_model.load(str(artifact.path))
        self._fn = self._loaded.signatures[artifact.details.get("signature", "serving_default")]
        keys = artifact.details.get("signature_inputs") or [t.name for t in artifact.inputs]
        self._keys = dict(zip([t.name for t in artifact.inputs], keys))
        self._outputs = [t.name for t in artifact.outputs]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {self._keys[name]: self._tf.constant(value) for name, value in inputs.items()}
        result = self._fn(**feed)
        return {name: result[name].numpy() for name in self._outputs}


class GraphSession:
    """A tf.compat.v1 Session over a frozen GraphDef or a restored checkpoint."""

    def __init__(self, artifact: Any):
        import tensorflow as tf

        self._graph = tf.Graph()
        with self._graph.as_default():
            self._session = tf.compat.v1.Session(graph=self._graph)
            if artifact.format == "pb":
                graph_def = tf.compat.v1.GraphDef()
                graph_def.ParseFromString(artifact.path.read_bytes())
                tf.compat.v1.import_graph_def(graph_def, name="")
            else:
                prefix = artifact.path / artifact.details.get("checkpoint_prefix", "model")
                saver = tf.compat.v1.train.import_meta_graph(f"{prefix}.meta")
                saver.restore(self._session, str(prefix))
        self._feeds = dict(zip([t.name for t in artifact.inputs], artifact.details["input_tensors"]))
        self._fetches = dict(zip([t.name for t in artifact.outputs], artifact.details["output_tensors"]))

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = {self._feeds[name]: value for name, value in inputs.items()}
        names = list(self._fetches)
        values = self._session.run([self._fetches[n] for n in names], feed)
        return dict(zip(names, values))


def load(artifact: Any):
    from modelport.tfimport import import_tensorflow

    import_tensorflow()
    if artifact.format == "savedmodel":
        return SignatureSession(artifact)
    if artifact.format in ("pb", "ckpt"):
        return GraphSession(artifact)
    raise ValueError(f"TensorFlow runtime cannot run format {artifact.format!r}")
