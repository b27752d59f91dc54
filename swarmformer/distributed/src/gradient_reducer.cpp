#include "sf/swarmformer/gradient_reducer.hpp"

#include <climits>
#include <cstring>

#include "sf/core/error.hpp"

namespace sf {

GradientReducer::GradientReducer(std::vector<Variable> parameters, Communicator& communicator,
                                 GradientReducerOptions options)
    : parameters_(std::move(parameters)), communicator_(communicator), options_(options) {
  if (options_.bucket_bytes < 0) fail("gradient reducer: bucket_bytes must be non-negative, got {}", options_.bucket_bytes);
  active_ = communicator_.size() > 1;
  if (!active_) return;  // one process: no buffers, no hook

  // Buckets in reverse registration order: the last layers' gradients are final first.
  struct Pending {
    std::vector<std::size_t> slots;
    std::int64_t elements = 0;
    DType dtype = DType::Float32;
  } pending;
  auto close = [&] {
    if (pending.slots.empty()) return;
    if (pending.elements > INT_MAX)
      fail("gradient reducer: a bucket of {} elements exceeds MPI's int count; lower allreduce_bucket_mb", pending.elements);
    Bucket bucket;
    bucket.buffer = Tensor::zeros({pending.elements}, pending.dtype);
    bucket.slots = std::move(pending.slots);
    buckets_.push_back(std::move(bucket));
    pending = Pending{};
  };
  for (std::size_t index = parameters_.size(); index-- > 0;) {
    const Variable& parameter = parameters_[index];
    if (!parameter.requires_grad()) continue;
    const auto element_bytes = static_cast<std::int64_t>(parameter.data().element_size());
    if (!pending.slots.empty() && (parameter.dtype() != pending.dtype ||
                                   element_bytes * (pending.elements + parameter.numel()) > options_.bucket_bytes))
      close();
    if (slot_of_.count(parameter.impl().get())) fail("gradient reducer: parameter {} is listed twice", parameter.name());
    pending.dtype = parameter.dtype();
    slot_of_[parameter.impl().get()] = slots_.size();
    pending.slots.push_back(slots_.size());
    slots_.push_back(Slot{index, buckets_.size(), pending.elements, false});
    pending.elements += parameter.numel();
  }
  close();
  if (options_.overlap) hook_ = [this](const std::shared_ptr<VariableImpl>& leaf) { on_leaf_ready(leaf); };
  begin_step();
}

std::vector<std::vector<std::size_t>> GradientReducer::bucket_layout() const {
  std::vector<std::vector<std::size_t>> layout;
  for (const Bucket& bucket : buckets_) {
    layout.emplace_back();
    for (std::size_t slot : bucket.slots) layout.back().push_back(slots_[slot].parameter);
  }
  return layout;
}

void GradientReducer::begin_step() {
  for (Slot& slot : slots_) slot.ready = false;
  for (Bucket& bucket : buckets_) bucket.missing = bucket.slots.size();
  next_bucket_ = 0;
  started_during_backward_ = 0;
}

Tensor GradientReducer::bucket_view(const Slot& slot) const {
  const Variable& parameter = parameters_[slot.parameter];
  return buckets_[slot.bucket].buffer.slice(0, slot.offset, slot.offset + parameter.numel()).view(parameter.shape());
}

void GradientReducer::stage(Slot& slot) {
  if (slot.ready) return;
  const Tensor& gradient = parameters_[slot.parameter].grad();
  Tensor destination = bucket_view(slot);
  if (gradient.defined()) destination.copy_from(gradient);
  else destination.fill_(0.0);
  slot.ready = true;
  --buckets_[slot.bucket].missing;
}

void GradientReducer::start_complete_buckets(bool during_backward) {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].missing == 0) {
    communicator_.start_allreduce_sum(buckets_[next_bucket_].buffer);
    ++next_bucket_;
    if (during_backward) ++started_during_backward_;
  }
}

void GradientReducer::on_leaf_ready(const std::shared_ptr<VariableImpl>& leaf) {
  const auto found = slot_of_.find(leaf.get());
  if (found == slot_of_.end()) return;  // a leaf that is not one of our parameters
  Slot& slot = slots_[found->second];
  if (slot.ready) return;
  stage(slot);
  start_complete_buckets(/*during_backward=*/true);
  communicator_.progress();  // MPI advances started reductions only inside MPI calls
}

void GradientReducer::finish_step() {
  if (!active_) {
    for (const Variable& parameter : parameters_)
      if (parameter.requires_grad() && !parameter.grad().defined())
        parameter.impl()->grad = Tensor::zeros(parameter.shape(), parameter.dtype());
    return;
  }
  for (Slot& slot : slots_) stage(slot);
  if (options_.overlap) {
    start_complete_buckets(/*during_backward=*/false);
    communicator_.wait_all();
  } else {
    std::vector<Tensor> buffers;
    for (const Bucket& bucket : buckets_) buffers.push_back(bucket.buffer);
    communicator_.allreduce_sum(buffers);
  }
  // The sums back into the gradients (the buffers are reused by the next step).
  for (const Slot& slot : slots_) {
    const Variable& parameter = parameters_[slot.parameter];
    const Tensor summed = bucket_view(slot);
    if (parameter.grad().defined()) parameter.impl()->grad.copy_from(summed);
    else parameter.impl()->grad = summed.clone();
  }
}

namespace {

// One 64-bit word into the running hash (xor, multiply by an odd constant, fold the high half).
inline std::uint64_t mix(std::uint64_t state, std::uint64_t word) {
  state ^= word;
  state *= 0x9E3779B97F4A7C15ull;
  return state ^ (state >> 29);
}

std::uint64_t hash_bytes(const unsigned char* bytes, std::size_t count, std::uint64_t state) {
  std::size_t index = 0;
  for (; index + 8 <= count; index += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes + index, 8);
    state = mix(state, word);
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, bytes + index, count - index);
  return mix(state, tail ^ (static_cast<std::uint64_t>(count - index) << 56));
}

}  // namespace

std::uint64_t parameter_checksum(const std::vector<Variable>& parameters) {
  std::uint64_t state = mix(0xcbf29ce484222325ull, parameters.size());
  for (const Variable& parameter : parameters) {
    const Tensor values = parameter.data().contiguous();
    state = mix(state, static_cast<std::uint64_t>(values.dtype() == DType::Float32 ? 4 : 8));
    state = mix(state, static_cast<std::uint64_t>(values.dim()));
    for (std::int64_t axis = 0; axis < values.dim(); ++axis) state = mix(state, static_cast<std::uint64_t>(values.size(axis)));
    state = hash_bytes(static_cast<const unsigned char*>(values.raw_data()),
                       static_cast<std::size_t>(values.numel()) * values.element_size(), state);
  }
  return state;
}

std::string parameter_mismatch(Communicator& communicator, const std::vector<Variable>& parameters, const std::string& when) {
  const std::vector<std::uint64_t> checksums = communicator.allgather(parameter_checksum(parameters));
  std::string differing;
  for (std::size_t rank = 1; rank < checksums.size(); ++rank)
    if (checksums[rank] != checksums[0])
      differing += fmt::format("{}rank {} ({:016x})", differing.empty() ? "" : ", ", rank, checksums[rank]);
  if (differing.empty()) return "";
  return fmt::format("{}: the parameters differ across ranks: {} differ from rank 0 ({:016x}); the ranks no longer train "
                     "the same model, stopping",
                     when, differing, checksums[0]);
}

}  // namespace sf
