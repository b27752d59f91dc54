#include "sf/swarmformer/distributed.hpp"

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sf/core/error.hpp"

#ifdef SF_HAVE_MPI
#include <mpi.h>
#endif

namespace sf {

bool launched_by_mpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_STEP_NUM_TASKS"})
    if (const char* value = std::getenv(variable); value && std::strlen(value) > 0) return true;
  return false;
}


#ifdef SF_HAVE_MPI
namespace {

[[noreturn]] void abort_job(int rank, const std::string& message) {
  std::fprintf(stderr, "rank %d: %s; aborting the whole job\n", rank, message.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::abort();
}

void check(int code, const char* what, int rank) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  abort_job(rank, fmt::format("{} failed: {}", what, std::string(text, static_cast<std::size_t>(length))));
}

MPI_Datatype mpi_type(DType dtype) { return dtype == DType::Float32 ? MPI_FLOAT : MPI_DOUBLE; }

// MPI counts are int: a larger tensor is an error, not a silent truncation.
int mpi_count(const Tensor& tensor, const char* what) {
  if (tensor.numel() > INT_MAX) fail("{}: tensor {} has more than {} elements", what, shape_string(tensor.shape()), INT_MAX);
  return static_cast<int>(tensor.numel());
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      // TBB threads compute inside a rank; only the main thread calls MPI.
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      if (provided < MPI_THREAD_FUNNELED)
        fail("MPI provides thread level {}, below the MPI_THREAD_FUNNELED that training needs", provided);
      std::atexit([] {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
      });
    }
    // Errors come back as codes so they can be reported with the rank before aborting.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduce_sum(std::vector<Tensor>& tensors) override {
    for (Tensor& tensor : tensors) {
      if (!tensor.is_contiguous()) fail("allreduce: tensor {} must be contiguous", shape_string(tensor.shape()));
      check(MPI_Allreduce(MPI_IN_PLACE, tensor.raw_data(), mpi_count(tensor, "allreduce"), mpi_type(tensor.dtype()),
                          MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce", rank_);
      tensor.bump_version();
    }
  }
  void allreduce_sum(std::vector<double>& values) override {
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce", rank_);
  }
  void broadcast(std::vector<Tensor>& tensors, int root) override {
    for (Tensor& tensor : tensors) {
      if (!tensor.is_contiguous()) fail("broadcast: tensor {} must be contiguous", shape_string(tensor.shape()));
      check(MPI_Bcast(tensor.raw_data(), mpi_count(tensor, "broadcast"), mpi_type(tensor.dtype()), root, MPI_COMM_WORLD),
            "MPI_Bcast", rank_);
      tensor.bump_version();
    }
  }
  std::vector<std::uint64_t> allgather(std::uint64_t value) override {
    std::vector<std::uint64_t> values(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&value, 1, MPI_UINT64_T, values.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD), "MPI_Allgather", rank_);
    return values;
  }
  void start_allreduce_sum(Tensor& tensor) override {
    if (!tensor.is_contiguous()) fail("allreduce: tensor {} must be contiguous", shape_string(tensor.shape()));
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, tensor.raw_data(), mpi_count(tensor, "allreduce"), mpi_type(tensor.dtype()), MPI_SUM,
                         MPI_COMM_WORLD, &request),
          "MPI_Iallreduce", rank_);
    requests_.push_back(request);
    in_flight_.push_back(tensor);  // keeps the storage alive until wait_all
  }
  void progress() override {
    if (requests_.empty()) return;
    int all_done = 0;
    check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &all_done, MPI_STATUSES_IGNORE), "MPI_Testall",
          rank_);
  }
  void wait_all() override {
    if (requests_.empty()) return;
    check(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE), "MPI_Waitall", rank_);
    for (Tensor& tensor : in_flight_) tensor.bump_version();
    requests_.clear();
    in_flight_.clear();
  }
  [[noreturn]] void abort(const std::string& message) override { abort_job(rank_, message); }
  std::string describe() const override { return fmt::format("{} MPI ranks", size_); }

 private:
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> requests_;  // started, not yet waited for
  std::vector<Tensor> in_flight_;
};

}  // namespace
#endif

std::unique_ptr<Communicator> make_communicator() {
  if (!launched_by_mpi()) return std::make_unique<LocalCommunicator>();
#ifdef SF_HAVE_MPI
  return std::make_unique<MpiCommunicator>();
#else
  fail("this process was started by mpirun/srun, but swarmformer was built without MPI (install libopenmpi-dev and rebuild)");
#endif
}

}  // namespace sf
