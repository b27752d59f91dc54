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
  [[noreturn]] void abort(const std::string& message) override;
  std::string describe() const override { return "1 process"; }
};

}  // namespace sf
