// Row gather and scatter-add along the middle axis of contiguous arrays: index_select and its
// backward index_add, and the embedding lookup and its gradient (outer = 1, inner = D).
//
//   gather:       out[o, j, :] = source[o, indices[j], :]
//                 source [outer, source_extent, inner], out [outer, count, inner]
//   scatter_add:  out[o, indices[j], :] += source[o, j, :] for every j with indices[j] != skip_index
//                 source [outer, count, inner], out [outer, out_extent, inner] (accumulated into:
//                 the caller zeroes it first); skip_index = -1 skips nothing (embedding padding)
//
// Preconditions (checked by the tensor layer, which names the offending index): every index is in
// [0, extent). Determinism of scatter_add with repeated indices: the work is split over (o, column
// block) pairs and each task adds its rows j = 0, 1, ... in order, so every output element
// receives its contributions in ascending j for any thread count.
#pragma once

#include <cstdint>

namespace sf::kernels {

template <class T>
void gather(const T* source, std::int64_t outer, std::int64_t source_extent, std::int64_t inner,
            const std::int64_t* indices, std::int64_t count, T* out);
template <class T>
void gather_reference(const T* source, std::int64_t outer, std::int64_t source_extent, std::int64_t inner,
                      const std::int64_t* indices, std::int64_t count, T* out);

template <class T>
void scatter_add(const T* source, std::int64_t outer, std::int64_t count, std::int64_t inner,
                 const std::int64_t* indices, std::int64_t out_extent, std::int64_t skip_index, T* out);
template <class T>
void scatter_add_reference(const T* source, std::int64_t outer, std::int64_t count, std::int64_t inner,
                           const std::int64_t* indices, std::int64_t out_extent, std::int64_t skip_index, T* out);

}  // namespace sf::kernels
