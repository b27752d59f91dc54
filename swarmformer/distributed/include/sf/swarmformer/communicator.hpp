// The trainer's view of data-parallel training: which rank this process is, how many there
// are, and the few collective operations it needs. One process: LocalCommunicator (everything
// is the identity). Under mpirun: the Open MPI implementation (distributed.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sf/core/tensor.hpp"

namespace sf {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }
  // Sums each tensor element-wise across ranks, in place (contiguous tensors).
  virtual void allreduce_sum(std::vector<Tensor>& tensors) = 0;
  // Sums plain numbers (loss totals, counts) across ranks, in place.
  virtual void allreduce_sum(std::vector<double>& values) = 0;
  // Copies rank `root`'s tensors into every rank's, in place.
  virtual void broadcast(std::vector<Tensor>& tensors, int root) = 0;
  // Every rank's `value`, indexed by rank (parameter checksums).
  virtual std::vector<std::uint64_t> allgather(std::uint64_t value) = 0;

  // Non-blocking sums, for overlapping the gradient allreduce with the backward pass.
  // start_allreduce_sum begins an in-place element-wise sum of one contiguous tensor across
  // ranks and returns at once; the tensor must stay alive and untouched until wait_all().
  // Every rank must start the same reductions in the same order. progress() lets started
  // reductions advance (MPI moves data only inside MPI calls); wait_all() completes them all.
  // MPI is called from the main thread only (MPI_THREAD_FUNNELED).
  virtual void start_allreduce_sum(Tensor& tensor) = 0;
  virtual void progress() = 0;
  virtual void wait_all() = 0;
  // Aborts every rank with a message naming this one (MPI_Abort); one process: throws.
  [[noreturn]] virtual void abort(const std::string& message) = 0;
  virtual std::string describe() const = 0;
};

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_sum(std::vector<Tensor>&) override {}
  void allreduce_sum(std::vector<double>&) override {}
  void broadcast(std::vector<Tensor>&, int) override {}
  std::vector<std::uint64_t> allgather(std::uint64_t value) override { return {value}; }
  void start_allreduce_sum(Tensor&) override {}
  void progress() override {}
  void wait_all() override {}
  [[noreturn]] void abort(const std::string& message) override;
  std::string describe() const override { return "1 process"; }
};

}  // namespace sf
