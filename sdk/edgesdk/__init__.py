"""edgesdk: on-device training for microcontrollers.

Data flows one way: ``.tflite`` -> frontend -> IR (:mod:`edgesdk.ir`) -> train (training graph)
-> plan (schedule) -> codegen (C project) -> build -> run. :mod:`edgesdk.reference` executes the
same training graph in numpy and is the oracle the generated C is held to.
"""

__version__ = "0.1.0"
