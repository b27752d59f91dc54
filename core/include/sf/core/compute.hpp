// sf::compute: the tensor-level functions over the core kernels. Autograd ops, layers and tools
// call these; they take any strided Tensor and return fresh contiguous ones. Include this one
// header for all of them (matmul lives in matmul.hpp, over the GEMM).
#pragma once

#include "sf/core/compute_elementwise.hpp"
#include "sf/core/compute_gating.hpp"
#include "sf/core/compute_indexing.hpp"
#include "sf/core/compute_nn.hpp"
#include "sf/core/compute_reduce.hpp"
#include "sf/core/matmul.hpp"
