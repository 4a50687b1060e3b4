"""Keras -> standard PMML 4.4 ``NeuralNetwork`` (no vendor extensions).

ARTIFACT LAYOUT (the contract with ``modelport.runtimes.jpmml`` / ``modelport.runtimes.pmml4s``)
-----------------------------------------------------------------------------------------------
``artifact.path`` is one ``.pmml`` file, or -- only when the model mixes classification and
regression heads (one NeuralNetwork cannot hold both portably) -- a *directory* named like the file
(``model.pmml/``) holding one document per head group. ``artifact.details``::

    {
      "documents": [                     # "" = artifact.path itself; else a file inside the directory
        {"file": "", "outputs": ["probs"]}
      ],
      "inputs": {                        # Keras input name -> its PMML fields, row-major flattened
        "features": {"fields": ["x1", "x2", ...], "dtype": "double"}   # dtype "integer" for an
      },                                                                # Embedding's categorical input
      "outputs": {                       # Keras output name -> where to read it
        "probs": {"kind": "classification", "document": 0, "shape": [null, 3],
                  "fields": ["probability(0)", "probability(1)", "probability(2)"],
                  "labels": ["0", "1", "2"], "predicted": "predicted(probs)"},
        "amount": {"kind": "regression", "document": 0, "shape": [null, 2],
                   "fields": ["predicted(amount_1)", "predicted(amount_2)"]}
      },
      "rows_verified": 4,                # rows in the embedded ModelVerification block
      "sequence_length": 24              # only with --sequence-length: the unrolled time steps
    }

``fields`` are PMML ``OutputField`` names; stacked as columns in the listed order they form the Keras
output array (shape ``[rows, units]``). A binary ``Dense(1, sigmoid)`` head is a classification with
two labels whose ``fields`` lists only the positive class's probability (as Keras outputs it);
``Dense(k>1, sigmoid)`` (multi-label) is a regression of k probabilities. Field names are chosen by
the converter; runtimes must read them from ``details``, never guess.
"""

from __future__ import annotations

from modelport.convert.pmml.converter import PmmlConverter

__all__ = ["PmmlConverter"]
