// bfloat16 rounding and the choice of the GEMM's path (kernels/gemm_bf16.hpp): cpuid, the tile
// data request for AMX, and SF_ISA. gemm_bf16.cpp runs the chosen path.
#include <bit>
#include <cstdlib>
#include <string>

#include "sf/core/error.hpp"
#include "sf/core/kernels/amx_tiles.hpp"
#include "sf/core/kernels/gemm_bf16.hpp"

namespace sf::kernels {

std::uint16_t float_to_bfloat16(float value) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);  // quiet NaN
  if ((bits & 0x7f800000u) == 0) return static_cast<std::uint16_t>((bits >> 16) & 0x8000u);  // ±0, subnormals
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>(bits >> 16);
}

float bfloat16_to_float(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

bool bfloat16_path_available(Bfloat16Path path) {
  if (path == Bfloat16Path::Emulated) return true;
  // cpuid once per process: every gemm_bfloat16 call asks.
  static const bool has_avx512bf16 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
  }();
  // Both AMX paths pack and write back with the AVX512-BF16 path's instructions.
  if (path == Bfloat16Path::Amx) return has_avx512bf16 && amx::request_amx_tile_data();
  return has_avx512bf16;
}

const char* bfloat16_path_name(Bfloat16Path path) {
  switch (path) {
    case Bfloat16Path::Amx: return "amx";
    case Bfloat16Path::AmxModel: return "amx-model";
    case Bfloat16Path::Avx512Bf16: return "avx512bf16";
    case Bfloat16Path::Emulated: break;
  }
  return "emulated";
}

Bfloat16Path bfloat16_path() {
  if (const char* forced = std::getenv("SF_ISA"); forced != nullptr && *forced != '\0') {
    const std::string name(forced);
    Bfloat16Path path = Bfloat16Path::Emulated;
    if (name == "amx") path = Bfloat16Path::Amx;
    else if (name == "amx-model") path = Bfloat16Path::AmxModel;
    else if (name == "avx512bf16") path = Bfloat16Path::Avx512Bf16;
    else if (name != "emulated") fail("SF_ISA='{}': the bfloat16 GEMM knows amx, avx512bf16, amx-model and emulated", name);
    if (!bfloat16_path_available(path))
      fail("SF_ISA='{}': this CPU lacks it ({})", name,
           path == Bfloat16Path::Amx ? "cpuid has no amx_tile, amx_bf16 or avx512_bf16, or Linux refused the tile data"
                                     : "cpuid has no avx512_bf16");
    return path;
  }
  for (Bfloat16Path path : {Bfloat16Path::Amx, Bfloat16Path::Avx512Bf16})
    if (bfloat16_path_available(path)) return path;
  return Bfloat16Path::Emulated;
}

}  // namespace sf::kernels
