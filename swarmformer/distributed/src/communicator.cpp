#include "sf/swarmformer/communicator.hpp"

#include "sf/core/error.hpp"

namespace sf {

void LocalCommunicator::abort(const std::string& message) { throw Error(message); }

}  // namespace sf
