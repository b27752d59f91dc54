// Row gather / scatter-add; see kernels/indexing.hpp.
#include "sf/core/kernels/indexing.hpp"

#include <algorithm>
#include <cstring>

#include "sf/core/kernels/simd.hpp"
#include "sf/core/parallel.hpp"

namespace sf::kernels {

template <class T>
void gather(const T* source, std::int64_t outer, std::int64_t source_extent, std::int64_t inner,
            const std::int64_t* indices, std::int64_t count, T* out) {
  // One task row = one (o, j) pair; each copies a contiguous run of `inner` elements.
  parallel::parallel_for(0, outer * count, parallel::rows_grain(inner), [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t row = first; row < last; ++row) {
      const std::int64_t o = row / count, j = row % count;
      std::memcpy(out + row * inner, source + (o * source_extent + indices[j]) * inner,
                  static_cast<std::size_t>(inner) * sizeof(T));
    }
  });
}

template <class T>
void gather_reference(const T* source, std::int64_t outer, std::int64_t source_extent, std::int64_t inner,
                      const std::int64_t* indices, std::int64_t count, T* out) {
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t j = 0; j < count; ++j)
      for (std::int64_t i = 0; i < inner; ++i)
        out[(o * count + j) * inner + i] = source[(o * source_extent + indices[j]) * inner + i];
}

template <class T>
void scatter_add(const T* source, std::int64_t outer, std::int64_t count, std::int64_t inner,
                 const std::int64_t* indices, std::int64_t out_extent, std::int64_t skip_index, T* out) {
  // Column blocks of two vectors: enough independent tasks for a few threads even when outer = 1
  // (the embedding gradient) and D is small.
  const std::int64_t block = 2 * simd::lanes<T>;
  const std::int64_t blocks = (inner + block - 1) / block;
  parallel::parallel_for(0, outer * blocks, parallel::rows_grain(count * block), [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t task = first; task < last; ++task) {
      const std::int64_t o = task / blocks, column_begin = (task % blocks) * block;
      const std::int64_t column_end = std::min(inner, column_begin + block);
      for (std::int64_t j = 0; j < count; ++j) {
        if (indices[j] == skip_index) continue;
        const T* from = source + (o * count + j) * inner;
        T* to = out + (o * out_extent + indices[j]) * inner;
        simd::for_each_batch<T>(column_begin, column_end, [&](std::int64_t index, std::int64_t valid) {
          simd::store(simd::load(to + index, valid) + simd::load(from + index, valid), to + index, valid);
        });
      }
    }
  });
}

template <class T>
void scatter_add_reference(const T* source, std::int64_t outer, std::int64_t count, std::int64_t inner,
                           const std::int64_t* indices, std::int64_t out_extent, std::int64_t skip_index, T* out) {
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t j = 0; j < count; ++j) {
      if (indices[j] == skip_index) continue;
      for (std::int64_t i = 0; i < inner; ++i)
        out[(o * out_extent + indices[j]) * inner + i] += source[(o * count + j) * inner + i];
    }
}

#define SF_INSTANTIATE(T)                                                                                     \
  template void gather<T>(const T*, std::int64_t, std::int64_t, std::int64_t, const std::int64_t*,            \
                          std::int64_t, T*);                                                                  \
  template void gather_reference<T>(const T*, std::int64_t, std::int64_t, std::int64_t, const std::int64_t*,  \
                                    std::int64_t, T*);                                                        \
  template void scatter_add<T>(const T*, std::int64_t, std::int64_t, std::int64_t, const std::int64_t*,       \
                               std::int64_t, std::int64_t, T*);                                               \
  template void scatter_add_reference<T>(const T*, std::int64_t, std::int64_t, std::int64_t,                  \
                                         const std::int64_t*, std::int64_t, std::int64_t, T*);
SF_INSTANTIATE(float)
SF_INSTANTIATE(double)
#undef SF_INSTANTIATE

}  // namespace sf::kernels
