#include "sf/swarmformer/distributed.hpp"

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

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
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
      check(MPI_Allreduce(MPI_IN_PLACE, tensor.raw_data(), static_cast<int>(tensor.numel()), mpi_type(tensor.dtype()),
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
      check(MPI_Bcast(tensor.raw_data(), static_cast<int>(tensor.numel()), mpi_type(tensor.dtype()), root, MPI_COMM_WORLD),
            "MPI_Bcast", rank_);
      tensor.bump_version();
    }
  }
  [[noreturn]] void abort(const std::string& message) override { abort_job(rank_, message); }
  std::string describe() const override { return fmt::format("{} MPI ranks", size_); }

 private:
  int rank_ = 0, size_ = 1;
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
