"""The integer ranges of a quantized model, defined once: the model format checks them
(model.py), the quantizer stays inside them (quantize.py) and the circuit proves them
(circuit.py, docs/protocol.md §3). Also the public architecture's format names and the
largest pooling window, which the importer, the model format and layers/spec.py share."""

WEIGHT_MIN, WEIGHT_MAX = -128, 127   # int8 weights (the quantizer writes the symmetric [-127, 127])
WEIGHT_BITS = 8                      # W - WEIGHT_MIN in [0, 2^8)
BIAS_BITS = 24                       # biases in [-2^23, 2^23)
ACT_MAX = 127                        # inputs in [-127, 127]; hidden activations in [0, 127]
ACT_BITS = 7                         # hidden activations in [0, 2^7)
QUOTIENT_BITS = 15                   # requantization quotient in [-2^15, 2^15)
MULTIPLIER_BITS = 16                 # requantization multiplier m in [1, 2^16)
SHIFT_MIN, SHIFT_MAX = 1, 32         # requantization shift k
LOGIT_BITS = 30                      # |logit| < 2^30 for every reachable input
LIMB_BITS = 15                       # range checks split wider values into 15-bit limbs

ARCH_FORMAT = "zkml-mlp-v1"          # architectures of dense layers only (unchanged since the first version)
NET_ARCH_FORMAT = "zkml-net-v1"      # architectures with convolution or pooling layers
MAX_POOL_KERNEL = 4                  # pooling windows up to 4 x 4
