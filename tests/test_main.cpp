// The one Boost.Test main shared by every suite (each suite is its own executable).
#define BOOST_TEST_MODULE swarmformer_cpp
#include <boost/test/unit_test.hpp>
