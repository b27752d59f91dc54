// Intel AMX (Advanced Matrix Extensions) for the bfloat16 GEMM: the few tile instructions it uses,
// as C++ functions, and a scalar model of the same instructions that runs on any CPU.
//
//   8 tile registers tmm0..tmm7, each up to 16 rows of 64 bytes, shaped by a 64-byte
//   configuration (LDTILECFG): palette 1, then per tile its bytes per row and its rows.
//   TILELOADD t, [base + stride]   row r of tile t = the 64 bytes at base + r · stride
//   TILESTORED [base + stride], t  the reverse;   TILEZERO t   all zero
//   TDPBF16PS c, a, b              c is [16 × 16] float32; a is 16 rows × 16 pairs (k, k + 1)
//                                  of bfloat16; b is 16 pair-rows × 16 columns:
//     c[m][n] += a[m].pair[p].low · b[p].pair[n].low + a[m].pair[p].high · b[p].pair[n].high,
//     for p = 0..15 in order: 16 · 16 · 32 products in one instruction (the B tile is the
//     "VNNI" layout: each 32-bit word holds a column's two consecutive k values).
//   The products are float32 FMAs rounded to nearest even; input and output subnormals are
//   flushed to zero (the instruction ignores MXCSR).
//
// The tile data is large (8 KiB a thread), so Linux hands it out only on request: a process asks
// once with arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) before any thread's first tile
// instruction (request_amx_tile_data). Each thread loads its own configuration.
//
// HardwareTiles and ModelTiles have the same members: the GEMM's tile loop is a template over
// them, so the machine without AMX tests that loop, its layouts and its edges on the model
// (SF_ISA=amx-model), and a machine with AMX tests the model against the instructions.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace sf::kernels::amx {

constexpr int tile_rows = 16;       // rows of every tile this project configures
constexpr int tile_row_bytes = 64;  // bytes of a row: 16 float32, or 16 pairs of bfloat16

// The 64-byte operand of LDTILECFG: palette 1, every tile 16 rows × 64 bytes.
struct alignas(64) TileConfig {
  std::uint8_t palette = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t row_bytes[16] = {tile_row_bytes, tile_row_bytes, tile_row_bytes, tile_row_bytes,
                                 tile_row_bytes, tile_row_bytes, tile_row_bytes, tile_row_bytes};
  std::uint8_t rows[16] = {tile_rows, tile_rows, tile_rows, tile_rows, tile_rows, tile_rows, tile_rows, tile_rows};
};
static_assert(sizeof(TileConfig) == 64);

// Whether this CPU has AMX-TILE and AMX-BF16 (cpuid leaf 7) and Linux gave this process the tile
// data. Asks once per process; false where either is missing, never an error.
bool request_amx_tile_data();

// The instructions themselves (only where request_amx_tile_data() is true). The asm statements
// name every byte they read or write as memory, so the compiler neither drops the configuration's
// stores nor moves a packing store past a tile load.
struct HardwareTiles {
  void configure(const TileConfig& config) { asm volatile("ldtilecfg %0" ::"m"(config)); }
  void release() { asm volatile("tilerelease" ::: "memory"); }
  template <int tile>
  void zero() {
    asm volatile("tilezero %%tmm%c0" ::"i"(tile));
  }
  template <int tile>
  void load(const void* base, std::int64_t stride) {
    asm volatile("tileloadd (%0,%1,1), %%tmm%c2" ::"r"(base), "r"(stride), "i"(tile) : "memory");
  }
  template <int tile>
  void store(void* base, std::int64_t stride) {
    asm volatile("tilestored %%tmm%c2, (%0,%1,1)" ::"r"(base), "r"(stride), "i"(tile) : "memory");
  }
  // c += a · b (TDPBF16PS c, a, b; AT&T order puts b first).
  template <int c, int a, int b>
  void dot_bfloat16() {
    asm volatile("tdpbf16ps %%tmm%c2, %%tmm%c1, %%tmm%c0" ::"i"(c), "i"(a), "i"(b));
  }
};

// The same, in plain C++ on an object's 8 KiB: the documented operation, FMA by FMA in the
// order above. Slow (8,192 scalar FMAs per dot product): for tests, and for reading.
class ModelTiles {
 public:
  void configure(const TileConfig&) { tiles_ = {}; }
  void release() { tiles_ = {}; }
  template <int tile>
  void zero() {
    tiles_[tile] = {};
  }
  template <int tile>
  void load(const void* base, std::int64_t stride) {
    for (int row = 0; row < tile_rows; ++row)
      std::memcpy(&tiles_[tile][row * 16], static_cast<const char*>(base) + row * stride, tile_row_bytes);
  }
  template <int tile>
  void store(void* base, std::int64_t stride) {
    for (int row = 0; row < tile_rows; ++row)
      std::memcpy(static_cast<char*>(base) + row * stride, &tiles_[tile][row * 16], tile_row_bytes);
  }
  template <int c, int a, int b>
  void dot_bfloat16() {
    for (int m = 0; m < tile_rows; ++m)
      for (int n = 0; n < 16; ++n) {
        float sum = word_as_float(tiles_[c][m * 16 + n]);
        for (int pair = 0; pair < 16; ++pair) {
          const std::uint32_t a_pair = tiles_[a][m * 16 + pair], b_pair = tiles_[b][pair * 16 + n];
          sum = flush(std::fma(bfloat16_value(a_pair & 0xffffu), bfloat16_value(b_pair & 0xffffu), sum));
          sum = flush(std::fma(bfloat16_value(a_pair >> 16), bfloat16_value(b_pair >> 16), sum));
        }
        std::memcpy(&tiles_[c][m * 16 + n], &sum, sizeof(sum));
      }
  }

 private:
  static float word_as_float(std::uint32_t word) {
    float value;
    std::memcpy(&value, &word, sizeof(value));
    return value;
  }
  // A bfloat16 as float32, a subnormal read as zero of its sign.
  static float bfloat16_value(std::uint32_t bits) {
    if ((bits & 0x7f80u) == 0) bits &= 0x8000u;
    return word_as_float(bits << 16);
  }
  static float flush(float value) { return std::fpclassify(value) == FP_SUBNORMAL ? std::copysign(0.0f, value) : value; }

  std::array<std::array<std::uint32_t, tile_rows * 16>, 8> tiles_{};
};

}  // namespace sf::kernels::amx
