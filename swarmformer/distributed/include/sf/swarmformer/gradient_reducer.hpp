// Gradient summation for data-parallel training, and the check that ranks hold equal weights.
//
// GradientReducer packs the parameters' gradients into flat buckets (parameters in reverse
// registration order, which is about the order backward finishes them) and sums every bucket
// across ranks with one allreduce. With overlap on, backward's leaf-ready hook copies each
// finished gradient into its bucket and starts the bucket's non-blocking allreduce as soon as the
// bucket is full, while backward goes on with the rest of the graph; finish_step() waits for all
// of them before clipping and the optimizer step. With overlap off, the same buckets are reduced
// with blocking allreduces after backward. Buckets are always started in bucket order, so every
// rank issues the same collectives in the same order whatever order its hooks fire in.
//
// The sums do not depend on the bucket layout or on overlap: each element is reduced once, by
// the same MPI operation (bit-identical on two ranks; on more, Open MPI may pick a different
// summation tree per message size, see docs/distributed.md).
//
// On one process (LocalCommunicator) nothing is allocated and the hook is empty, so backward
// runs exactly as without a reducer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sf/autograd/variable.hpp"
#include "sf/swarmformer/communicator.hpp"

namespace sf {

struct GradientReducerOptions {
  std::int64_t bucket_bytes = std::int64_t{4} << 20;  // bucket capacity; 0: one bucket per parameter
  bool overlap = true;  // start allreduces during backward (non-blocking); off: blocking, after backward
};

class GradientReducer {
 public:
  using LeafReadyHook = std::function<void(const std::shared_ptr<VariableImpl>&)>;

  GradientReducer(std::vector<Variable> parameters, Communicator& communicator, GradientReducerOptions options = {});
  GradientReducer(const GradientReducer&) = delete;  // the hook points at this object
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Call before each backward: no gradient is ready yet.
  void begin_step();
  // The on_leaf_ready argument of Variable::backward. Empty (no hook at all) on one process or
  // with overlap off.
  const LeafReadyHook& hook() const { return hook_; }
  // Call after backward (also on a rank whose share of the batch was empty and ran no backward):
  // gradients the hook did not see (unused parameters, no backward) are taken as they are, zeros
  // where undefined; the remaining buckets are reduced; then every parameter's .grad holds the
  // sum over ranks. On one process it only gives undefined gradients zeros.
  void finish_step();

  std::size_t bucket_count() const { return buckets_.size(); }
  // Parameters of each bucket (indices into the constructor's list), in bucket order.
  std::vector<std::vector<std::size_t>> bucket_layout() const;
  // Buckets whose allreduce was started inside backward during the last step.
  std::size_t buckets_started_during_backward() const { return started_during_backward_; }

 private:
  struct Slot {
    std::size_t parameter = 0;
    std::size_t bucket = 0;
    std::int64_t offset = 0;  // elements into the bucket's buffer
    bool ready = false;
  };
  struct Bucket {
    Tensor buffer;                    // flat, contiguous, one dtype
    std::vector<std::size_t> slots;   // indices into slots_
    std::size_t missing = 0;          // slots not yet copied in this step
  };

  void on_leaf_ready(const std::shared_ptr<VariableImpl>& leaf);
  void stage(Slot& slot);                 // the gradient into its bucket
  void start_complete_buckets(bool during_backward);
  Tensor bucket_view(const Slot& slot) const;  // the slot's elements, in the parameter's shape

  std::vector<Variable> parameters_;
  Communicator& communicator_;
  GradientReducerOptions options_;
  bool active_ = false;  // more than one rank
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const VariableImpl*, std::size_t> slot_of_;
  std::size_t next_bucket_ = 0;  // the next bucket to start (in order)
  std::size_t started_during_backward_ = 0;
  LeafReadyHook hook_;
};

// A 64-bit hash of every parameter's shape, dtype and bytes, in order. Not cryptographic: it
// detects ranks whose weights drifted apart, not an adversary.
std::uint64_t parameter_checksum(const std::vector<Variable>& parameters);

// Compares parameter_checksum across ranks (a collective: every rank must call it). Returns ""
// when all ranks agree, else a message naming `when` (e.g. "at step 300") and the ranks whose
// parameters differ from rank 0's, with the checksums.
std::string parameter_mismatch(Communicator& communicator, const std::vector<Variable>& parameters, const std::string& when);

}  // namespace sf
