// Data-parallel training over Open MPI.
//
// make_communicator() returns an MPI communicator when the process was started by mpirun or
// srun (and the binary was built with MPI), else a LocalCommunicator. The MPI one averages
// gradients with MPI_Allreduce over flat float buckets and turns any MPI error into an abort of
// the whole job that names the failing rank.
#pragma once

#include <memory>

#include "sf/swarmformer/communicator.hpp"

namespace sf {

// True when the environment says this process is one rank of an MPI job.
bool launched_by_mpi();
// The communicator for this process; MPI is initialized on first use and finalized at exit.
std::unique_ptr<Communicator> make_communicator();

}  // namespace sf
