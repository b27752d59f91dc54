// GradientReducer and the parameter checksum on real MPI ranks. Run by CTest as
//   mpirun --allow-run-as-root --oversubscribe -np 2 test_mpi_reducer
// Every rank runs every test case in the same order, so the collectives match.
#include <boost/test/unit_test.hpp>

#include <cstring>

#include "sf/autograd/functional.hpp"
#include "sf/core/random.hpp"
#include "sf/swarmformer/distributed.hpp"
#include "sf/swarmformer/gradient_reducer.hpp"
#include "sf/swarmformer/model.hpp"

namespace sf {
namespace {

Communicator& world() {
  static const std::unique_ptr<Communicator> communicator = make_communicator();
  return *communicator;
}

// A small enhanced SwarmFormer: many parameters of many sizes, dropout off so a backward is a
// pure function of the batch.
SwarmFormerConfig tiny_config() {
  SwarmFormerConfig config;
  config.variant = "enhanced";
  config.vocab_size = 97;
  config.d_model = 16;
  config.seq_len = 16;
  config.cluster_size = 4;
  config.local_window = 4;
  config.local_heads = 2;
  config.cluster_heads = 2;
  config.feedback_hidden = 8;
  config.embedding_dropout = config.local_dropout = config.attention_dropout = 0.0;
  config.attention_output_dropout = config.broadcast_dropout = config.classifier_dropout = 0.0;
  config.gumbel_softmax = false;
  return config;
}

struct Fixture {
  SwarmFormer model{tiny_config(), 5};
  std::vector<Variable> parameters = model.parameters();
  std::vector<std::int64_t> ids, labels;
  std::int64_t batch = 3;

  // Each rank its own batch, so the local gradients differ across ranks.
  Fixture() {
    Generator generator(100 + static_cast<std::uint64_t>(world().rank()));
    for (std::int64_t index = 0; index < batch * 16; ++index) ids.push_back(1 + static_cast<std::int64_t>(generator.next_below(96)));
    for (std::int64_t index = 0; index < batch; ++index) labels.push_back(index % 2);
    model.train();
  }
  void zero() {
    for (Variable& parameter : parameters) parameter.zero_grad();
  }
  // One backward through the model, with the hook when given.
  void backward(const GradientReducer::LeafReadyHook& hook = {}) {
    const Variable loss = cross_entropy(model.forward(ids, batch), labels);
    loss.backward(Tensor(), false, hook);
  }
  std::vector<Tensor> gradients() const {
    std::vector<Tensor> result;
    for (const Variable& parameter : parameters)
      result.push_back(parameter.grad().defined() ? parameter.grad().clone() : Tensor::zeros(parameter.shape()));
    return result;
  }
};

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const Tensor left = a.contiguous(), right = b.contiguous();
  return std::memcmp(left.raw_data(), right.raw_data(), static_cast<std::size_t>(left.numel()) * left.element_size()) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gradient_reducer)

BOOST_AUTO_TEST_CASE(runs_on_two_ranks) {
  BOOST_REQUIRE_MESSAGE(world().size() == 2, "run under mpirun -np 2 (got " << world().size() << " ranks)");
}

BOOST_AUTO_TEST_CASE(every_layout_gives_the_sum_of_the_per_parameter_allreduce) {
  Fixture fixture;
  // The reference: local gradients, summed one parameter at a time with a blocking allreduce.
  fixture.backward();
  const std::vector<Tensor> local = fixture.gradients();
  std::vector<Tensor> reference = fixture.gradients();
  world().allreduce_sum(reference);
  bool reduced_differs_from_local = false;
  for (std::size_t index = 0; index < local.size(); ++index)
    reduced_differs_from_local = reduced_differs_from_local || !bitwise_equal(local[index], reference[index]);
  BOOST_TEST(reduced_differs_from_local);  // the ranks' batches differ, so the sum is not the local gradient

  const std::vector<GradientReducerOptions> layouts = {
      {.bucket_bytes = 0, .overlap = false},  {.bucket_bytes = 0, .overlap = true},
      {.bucket_bytes = 700, .overlap = true}, {.bucket_bytes = 4096, .overlap = false},
      {.bucket_bytes = 4 << 20, .overlap = true}};
  for (const GradientReducerOptions& options : layouts) {
    GradientReducer reducer(fixture.parameters, world(), options);
    for (int repeat = 0; repeat < 2; ++repeat) {  // buffers are reused across steps
      fixture.zero();
      reducer.begin_step();
      fixture.backward(reducer.hook());
      reducer.finish_step();
      const std::vector<Tensor> reduced = fixture.gradients();
      for (std::size_t index = 0; index < reduced.size(); ++index) {
        BOOST_TEST_INFO("bucket_bytes " << options.bucket_bytes << " overlap " << options.overlap << " parameter " << index);
        BOOST_TEST(bitwise_equal(reduced[index], reference[index]));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(buckets_cover_every_parameter_once_in_reverse_order_within_capacity) {
  Fixture fixture;
  for (const std::int64_t capacity : {std::int64_t{0}, std::int64_t{700}, std::int64_t{4096}, std::int64_t{4} << 20}) {
    GradientReducer reducer(fixture.parameters, world(), {.bucket_bytes = capacity, .overlap = true});
    std::vector<std::size_t> order;
    for (const std::vector<std::size_t>& bucket : reducer.bucket_layout()) {
      std::int64_t bytes = 0;
      for (std::size_t parameter : bucket) bytes += 4 * fixture.parameters[parameter].numel();
      BOOST_TEST_INFO("capacity " << capacity);
      BOOST_TEST((bucket.size() == 1 || bytes <= capacity));  // only a single large parameter overflows
      order.insert(order.end(), bucket.begin(), bucket.end());
    }
    BOOST_REQUIRE_EQUAL(order.size(), fixture.parameters.size());
    for (std::size_t index = 0; index < order.size(); ++index) BOOST_TEST(order[index] == order.size() - 1 - index);
    if (capacity == 0) BOOST_TEST(reducer.bucket_count() == fixture.parameters.size());
    if (capacity == (std::int64_t{4} << 20)) BOOST_TEST(reducer.bucket_count() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(overlap_starts_buckets_while_backward_runs) {
  Fixture fixture;
  GradientReducer overlapped(fixture.parameters, world(), {.bucket_bytes = 700, .overlap = true});
  BOOST_TEST(static_cast<bool>(overlapped.hook()));
  overlapped.begin_step();
  fixture.backward(overlapped.hook());
  const std::size_t started = overlapped.buckets_started_during_backward();
  overlapped.finish_step();
  BOOST_TEST_MESSAGE(started << " of " << overlapped.bucket_count() << " buckets started during backward");
  BOOST_TEST(started * 2 > overlapped.bucket_count());  // most of them, not all at the end

  GradientReducer blocking(fixture.parameters, world(), {.bucket_bytes = 700, .overlap = false});
  BOOST_TEST(!static_cast<bool>(blocking.hook()));
  fixture.zero();
  blocking.begin_step();
  fixture.backward(blocking.hook());
  BOOST_TEST(blocking.buckets_started_during_backward() == 0u);
  blocking.finish_step();
}

BOOST_AUTO_TEST_CASE(a_rank_without_rows_contributes_zeros) {
  // The last batch of an epoch can leave a rank no rows: it runs no backward at all.
  Fixture fixture;
  if (world().rank() == 0) fixture.backward();
  const std::vector<Tensor> rank_zero_gradients = fixture.gradients();
  std::vector<Tensor> expected = rank_zero_gradients;
  world().broadcast(expected, 0);
  fixture.zero();
  GradientReducer reducer(fixture.parameters, world(), {.bucket_bytes = 2048, .overlap = true});
  reducer.begin_step();
  if (world().rank() == 0) fixture.backward(reducer.hook());
  reducer.finish_step();
  const std::vector<Tensor> reduced = fixture.gradients();
  for (std::size_t index = 0; index < reduced.size(); ++index)  // x + 0 == x (a -0 may turn +0, hence ==)
    BOOST_TEST(reduced[index].to_vector() == expected[index].to_vector());
}

BOOST_AUTO_TEST_CASE(parameter_check_names_the_differing_rank_and_the_step) {
  Fixture fixture;
  BOOST_TEST(parameter_mismatch(world(), fixture.parameters, "at step 7").empty());
  // One element of one matrix a little off on rank 1 only.
  std::size_t matrix = 0;
  while (fixture.parameters[matrix].dim() != 2) ++matrix;
  Tensor& values = fixture.parameters[matrix].data();
  const double original = values.at({0, 0});
  if (world().rank() == 1) values.set({0, 0}, original + 1e-6);
  const std::string message = parameter_mismatch(world(), fixture.parameters, "at step 7");
  BOOST_TEST_INFO("message: " << message);
  BOOST_TEST(message.find("at step 7") != std::string::npos);
  BOOST_TEST(message.find("rank 1") != std::string::npos);
  BOOST_TEST(message.find("rank 0") != std::string::npos);
  values.set({0, 0}, original);
  BOOST_TEST(parameter_mismatch(world(), fixture.parameters, "at step 8").empty());
}

BOOST_AUTO_TEST_CASE(checksum_sees_one_bit_and_the_shapes) {
  Fixture fixture;
  const std::uint64_t before = parameter_checksum(fixture.parameters);
  BOOST_TEST(parameter_checksum(fixture.parameters) == before);
  Tensor& values = fixture.parameters.back().data();
  float* first = values.data<float>();
  std::uint32_t bits = 0;
  std::memcpy(&bits, first, 4);
  bits ^= 1u;  // the lowest mantissa bit
  std::memcpy(first, &bits, 4);
  BOOST_TEST(parameter_checksum(fixture.parameters) != before);
  bits ^= 1u;
  std::memcpy(first, &bits, 4);
  BOOST_TEST(parameter_checksum(fixture.parameters) == before);
  // The same bytes under another shape hash differently.
  const Variable flat(Tensor::from_vector(std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f}, {4}));
  const Variable square(Tensor::from_vector(std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f}, {2, 2}));
  BOOST_TEST(parameter_checksum({flat}) != parameter_checksum({square}));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace sf
