// Banded local attention (ops/local_attention.cpp): each query sees the keys within ±window.
#pragma once

#include "sf/autograd/variable.hpp"

namespace sf {

// q, k, v [B, H, L, Dh] -> [B, H, L, Dh]. relative_bias [H, 2·window + 1] (or undefined) is added
// to the score of key j for query i at column j - i + window. key_keep [B, L]: 1 for real tokens,
// 0 for padding (or undefined). probabilities_out, when given, receives the band of weights
// [B, H, L, 2·window + 1] (for explain()).
Variable local_attention(const Variable& q, const Variable& k, const Variable& v, std::int64_t window,
                         const Variable& relative_bias = Variable(), const Tensor& key_keep = Tensor(),
                         Tensor* probabilities_out = nullptr);

}  // namespace sf
