// The part of the CUDA runtime API that host code needs to name when it is
// compiled for the simulator (g++): for now the stream handle type, so launchers
// keep CUDA's signatures.
#pragma once

typedef struct CUstream_st* cudaStream_t;
