// Data-parallel training over Open MPI.
//
// make_communicator() returns an MPI communicator when the process was started by mpirun or
// srun (and the binary was built with MPI), else a LocalCommunicator. The MPI one turns any MPI
// error into an abort of the whole job that names the failing rank. Gradients are summed over
// flat buckets by GradientReducer (gradient_reducer.hpp); docs/distributed.md has the whole story.
#pragma once

#include <memory>

#include "sf/core/random.hpp"
#include "sf/swarmformer/communicator.hpp"

namespace sf {

// True when the environment says this process is one rank of an MPI job.
bool launched_by_mpi();
// The communicator for this process; MPI is initialized on first use and finalized at exit.
std::unique_ptr<Communicator> make_communicator();


}  // namespace sf
