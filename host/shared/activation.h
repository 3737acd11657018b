// Activation functions and their derivatives, shared by the CPU backend and
// the CUDA kernels (one definition, so the devices cannot drift apart).
//
// Derivatives are taken from the activation's OUTPUT y, so the forward pass
// keeps only y (no pre-activation tensor). That is exact for every
// elementwise activation here because each is monotone with y > 0 <=> x > 0
// (LeakyReLU slope >= 0 and ELU alpha > 0 are enforced by ModelSpec):
//   sigmoid' = y(1-y), tanh' = 1-y^2, relu' = [y>0] (so f'(0) = 0, PyTorch's
//   choice), leaky' = y>0 ? 1 : slope, elu' = y>0 ? 1 : y + alpha, step' = 0.
#pragma once

#include <cmath>
#include <cstdint>

#include "host/shared/hd.h"

namespace cumlp::ops {

/// Elementwise activations in kernel form (Softmax is a row op, handled apart).
enum ActCode : int32_t { kIdentity = 0, kStep, kSigmoid, kTanh, kReLU, kLeakyReLU, kELU, kSoftmax };

template <class T>
CUMLP_HD T act_forward(int32_t code, T x, T alpha) {
  switch (code) {
    case kStep: return x > T(0) ? T(1) : T(0);
    case kSigmoid: return T(1) / (T(1) + std::exp(-x));
    case kTanh: return std::tanh(x);
    case kReLU: return x > T(0) ? x : T(0);
    case kLeakyReLU: return x > T(0) ? x : alpha * x;
    case kELU: return x > T(0) ? x : alpha * (std::exp(x) - T(1));
    default: return x;
  }
}

/// d act / d x expressed through y = act(x).
template <class T>
CUMLP_HD T act_derivative(int32_t code, T y, T alpha) {
  switch (code) {
    case kStep: return T(0);
    case kSigmoid: return y * (T(1) - y);
    case kTanh: return T(1) - y * y;
    case kReLU: return y > T(0) ? T(1) : T(0);
    case kLeakyReLU: return y > T(0) ? T(1) : alpha;
    case kELU: return y > T(0) ? T(1) : y + alpha;
    default: return T(1);
  }
}

}  // namespace cumlp::ops
