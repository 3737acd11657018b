// FP32 -> TF32 rounding as the GPU's cvt.rna.tf32.f32 does it, for the
// simulator's nvcuda::wmma (cuda/sim/wmma.h) and the tests. Plain C++, no
// kernel context needed.
//
// TF32 keeps fp32's sign and 8-bit exponent and the top 10 of its 23 mantissa
// bits; the value stays in a 32-bit register with the low 13 bits zero.
// `__float_to_tf32` is `cvt.rna.tf32.f32` (CUDA's crt/mma.h), and the PTX ISA
// (docs.nvidia.com/cuda/parallel-thread-execution, "cvt", rounding modifier
// `.rna`: "mantissa LSB rounds to nearest, ties away from zero") defines the
// rounding. On sm_80 the instruction compiles to an integer add of 0x1000 (half
// of the dropped 13 bits) to the bit pattern of a finite input, then a mask
// with 0xffffe000 (disassembly in enp1s0.github.io/blog/cuda/2023/01/08/
// tf32-rna.html): adding to the sign-magnitude pattern rounds the magnitude
// half away from zero, a carry out of the mantissa moves into the exponent
// (1.11...1 x 2^e -> 2^(e+1); the largest finite values round to Inf), and
// denormals round the same way (a carry makes the smallest normal). Inf
// passes unchanged; a NaN stays a NaN (quiet, sign kept): masking alone
// could turn a NaN with only low payload bits into Inf.
#pragma once

#include <cstdint>
#include <cstring>

namespace sim {

inline std::uint32_t float_bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

inline float bits_float(std::uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

constexpr std::uint32_t kTf32Mask = 0xffffe000u;  // sign, exponent, top 10 mantissa bits

/// cvt.rna.tf32.f32: round to nearest, ties away from zero, on the 13 dropped bits.
inline float round_to_tf32(float x) {
  const std::uint32_t u = float_bits(x);
  const std::uint32_t magnitude = u & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return bits_float((u & kTf32Mask) | 0x00400000u);  // NaN: quiet NaN
  if (magnitude == 0x7f800000u) return x;                                         // +-Inf
  return bits_float((u + 0x1000u) & kTf32Mask);
}

/// What a tensor core reads of an fp32 register given as a TF32 operand: the
/// top 19 bits (a value already rounded by round_to_tf32 is unchanged; a NaN
/// stays a NaN).
inline float tf32_operand(float x) { return x != x ? x : bits_float(float_bits(x) & kTf32Mask); }

}  // namespace sim
