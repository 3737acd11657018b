// CUDA's built-in vector types and dim3 for the simulator (g++ builds only).
//
// Layout and alignment match the toolkit's vector_types.h, so a float4 load in a
// kernel means the same thing under nvcc and the simulator. They are defined here
// rather than taken from the toolkit so the simulator also builds where no CUDA
// toolkit is installed; if the toolkit header was already included, it is used.
#pragma once

#if !defined(__VECTOR_TYPES_H__)

#define CUMLP_SIM_VEC2(T, name, A) \
  struct alignas(A) name { T x, y; };
#define CUMLP_SIM_VEC3(T, name) \
  struct name { T x, y, z; };
#define CUMLP_SIM_VEC4(T, name, A) \
  struct alignas(A) name { T x, y, z, w; };

#define CUMLP_SIM_VECS(T, prefix, A2, A4) \
  struct prefix##1 { T x; };              \
  CUMLP_SIM_VEC2(T, prefix##2, A2)        \
  CUMLP_SIM_VEC3(T, prefix##3)            \
  CUMLP_SIM_VEC4(T, prefix##4, A4)

CUMLP_SIM_VECS(char, char, 2, 4)
CUMLP_SIM_VECS(unsigned char, uchar, 2, 4)
CUMLP_SIM_VECS(short, short, 4, 8)
CUMLP_SIM_VECS(unsigned short, ushort, 4, 8)
CUMLP_SIM_VECS(int, int, 8, 16)
CUMLP_SIM_VECS(unsigned int, uint, 8, 16)
CUMLP_SIM_VECS(long long, longlong, 16, 16)
CUMLP_SIM_VECS(unsigned long long, ulonglong, 16, 16)
CUMLP_SIM_VECS(float, float, 8, 16)
CUMLP_SIM_VECS(double, double, 16, 16)

#undef CUMLP_SIM_VECS
#undef CUMLP_SIM_VEC2
#undef CUMLP_SIM_VEC3
#undef CUMLP_SIM_VEC4

/// Launch geometry; like CUDA's, every omitted extent is 1.
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

#define CUMLP_SIM_MAKE2(T, name) \
  inline constexpr name##2 make_##name##2(T x, T y) { return name##2{x, y}; }
#define CUMLP_SIM_MAKE3(T, name) \
  inline constexpr name##3 make_##name##3(T x, T y, T z) { return name##3{x, y, z}; }
#define CUMLP_SIM_MAKE4(T, name) \
  inline constexpr name##4 make_##name##4(T x, T y, T z, T w) { return name##4{x, y, z, w}; }
#define CUMLP_SIM_MAKES(T, name) CUMLP_SIM_MAKE2(T, name) CUMLP_SIM_MAKE3(T, name) CUMLP_SIM_MAKE4(T, name)

CUMLP_SIM_MAKES(int, int)
CUMLP_SIM_MAKES(unsigned int, uint)
CUMLP_SIM_MAKES(float, float)
CUMLP_SIM_MAKES(double, double)

#undef CUMLP_SIM_MAKES
#undef CUMLP_SIM_MAKE2
#undef CUMLP_SIM_MAKE3
#undef CUMLP_SIM_MAKE4

#endif  // !__VECTOR_TYPES_H__
