// Local (banded) attention kernels: each query i of a (batch, head) pair sees the keys
// j = i - w … i + w that exist and are not masked (see autograd/src/ops/local_attention.cpp for
// the math of the op and its backward).
//
// Layouts: q, k, v, output, grad_* are [B, H, L, Dh] contiguous (the forward's q, k, v and output
// [B, L, H, Dh] with shape.token_major); bias is [H, 2w+1] or null;
// key_keep is [B, L] (0 = padding) or null; probabilities are [B, H, L, 2w+1] (entry o of row i
// is key j = i + o - w; 0 where the key is out of range or masked; a row with no visible key is
// all 0). grad_bias_per_pair is [B, H, 2w+1], summed over the batch by the caller.
//
// The fast kernels vectorize the 2w+1 band of a row (scores, softmax, dp) over a transposed
// copy of the keys or values, and the Dh features of a row (output, dq, dk, dv); each
// (batch, head) pair is one serial task, so results are bit-identical for any thread count.
// The *_reference kernels are the naive scalar forms (double accumulators), for the tests.
#pragma once

#include <cstdint>

namespace sf::kernels {

struct LocalAttentionShape {
  std::int64_t batch = 0, heads = 0, length = 0, head_dimension = 0, window = 0;
  // The forward may also read q, k, v and write output token-major, [B, L, H, Dh] contiguous:
  // the heads of a token side by side, as the linear layers that make them write them, so the
  // split into heads and the merge after need no copies. The backward takes [B, H, L, Dh] only.
  bool token_major = false;
  std::int64_t band() const { return 2 * window + 1; }
  std::int64_t pairs() const { return batch * heads; }
  // Elements from one row (query, key, value or output position) of a pair to the next.
  std::int64_t row_step() const { return token_major ? heads * head_dimension : head_dimension; }
  // Where the rows of (batch, head) pair `pair` start.
  std::int64_t pair_offset(std::int64_t pair) const {
    return token_major ? (pair / heads) * length * heads * head_dimension + (pair % heads) * head_dimension
                       : pair * length * head_dimension;
  }
};

template <class T>
void local_attention_forward(const LocalAttentionShape& shape, const T* q, const T* k, const T* v, const T* bias,
                             const T* key_keep, T scale, T* probabilities, T* output);
template <class T>
void local_attention_forward_reference(const LocalAttentionShape& shape, const T* q, const T* k, const T* v,
                                       const T* bias, const T* key_keep, T scale, T* probabilities, T* output);

template <class T>
void local_attention_backward(const LocalAttentionShape& shape, const T* q, const T* k, const T* v,
                              const T* probabilities, const T* grad_output, T scale, T* grad_q, T* grad_k, T* grad_v,
                              T* grad_bias_per_pair);
template <class T>
void local_attention_backward_reference(const LocalAttentionShape& shape, const T* q, const T* k, const T* v,
                                        const T* probabilities, const T* grad_output, T scale, T* grad_q, T* grad_k,
                                        T* grad_v, T* grad_bias_per_pair);

}  // namespace sf::kernels
