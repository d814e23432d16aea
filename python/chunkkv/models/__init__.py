"""Llama-style decoder modules as MLIR text, with a NumPy reference model.

    from chunkkv.models import ModelConfig, module_text, numpy_model
    config = ModelConfig(layers=2, layout="bshd", layer_loop=True)
    text = module_text(config)            # prefill + decode
    weights = numpy_model.init_weights(config)
"""

from . import numpy_model
from .config import FORMS, LAYOUTS, QK_FORMS, SOFTMAX_FORMS, ModelConfig
from .emit import module_text, tensor_module

__all__ = ["FORMS", "LAYOUTS", "ModelConfig", "QK_FORMS", "SOFTMAX_FORMS",
           "module_text", "numpy_model", "tensor_module"]
