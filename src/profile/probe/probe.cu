// orbitflow probe: the unity translation unit `orbitflow profile` builds. Each .cu below also
// compiles on its own; building them as one unit saves nvcc's per-file front-end and host-compiler
// passes, which dominate the build time (the probe is built on the user's machine, once per
// source hash and GPU architecture).
#include "attention.cu"
#include "kernels.cu"
#include "info.cu"
#include "selfcheck.cu"
#include "bandwidth.cu"
#include "kv.cu"
#include "decode.cu"
#include "validate.cu"
#include "main.cu"
