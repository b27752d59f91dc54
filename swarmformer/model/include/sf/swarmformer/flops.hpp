// Analytic FLOP counts of a SwarmFormer forward and backward pass, per block.
//
// Counted: every matrix product (2·M·N·K FLOPs) and the attention score/value products, which
// dominate; elementwise work (activations, gates, norms, softmax) is counted with a fixed cost
// per element (documented per block in flops.cpp) and reported separately, since it is
// memory-bound rather than FLOP-bound. Backward of a matrix product costs two products
// (gradients of both operands), so backward ≈ 2 × forward for the products.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sf/swarmformer/config.hpp"

namespace sf {

struct BlockFlops {
  std::string block;            // e.g. "layers.0.local (x3)"
  double matmul_forward = 0.0;  // FLOPs of the matrix products in forward, per sequence
  double elementwise_forward = 0.0;
  double forward() const { return matmul_forward + elementwise_forward; }
  double backward() const { return 2.0 * matmul_forward + 2.0 * elementwise_forward; }
};

struct FlopsReport {
  std::vector<BlockFlops> blocks;
  double forward_total() const;
  double backward_total() const;
  nlohmann::json to_json(std::int64_t sequences = 1) const;
};

// FLOPs for one sequence of config.seq_len tokens.
FlopsReport count_flops(const SwarmFormerConfig& config);

}  // namespace sf
