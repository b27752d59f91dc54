// Tensor views, copies, shapes and their error messages.
#include <boost/test/unit_test.hpp>

#include "sf/core/parallel.hpp"
#include "sf/core/random.hpp"
#include "sf/core/tensor.hpp"
#include "test_util.hpp"

using sf::Shape;
using sf::Tensor;

using sf::test::check_error_message;

BOOST_AUTO_TEST_SUITE(tensor)

BOOST_AUTO_TEST_CASE(storage_is_aligned_and_zero_initialized) {
  for (auto dtype : {sf::DType::Float32, sf::DType::Float64}) {
    Tensor t = Tensor::zeros({3, 5, 7}, dtype);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64 == 0u);
    BOOST_TEST(t.numel() == 105);
    for (double value : t.to_vector()) BOOST_TEST(value == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(six_dimensional_views_share_storage) {
  Tensor t = Tensor::arange(2 * 3 * 1 * 2 * 2 * 3, sf::DType::Float64).reshape({2, 3, 1, 2, 2, 3});
  BOOST_TEST(t.dim() == 6);
  Tensor permuted = t.permute({5, 4, 3, 2, 1, 0});
  BOOST_TEST(permuted.storage() == t.storage());
  BOOST_TEST(!permuted.is_contiguous());
  BOOST_TEST(permuted.at({2, 1, 0, 0, 1, 1}) == t.at({1, 1, 0, 0, 1, 2}));
  Tensor copy = permuted.contiguous();
  BOOST_TEST(copy.storage() != t.storage());
  BOOST_TEST(copy.at({2, 1, 0, 0, 1, 1}) == t.at({1, 1, 0, 0, 1, 2}));
}

BOOST_AUTO_TEST_CASE(reshape_views_when_strides_allow_and_copies_otherwise) {
  Tensor t = Tensor::arange(24).reshape({2, 3, 4});
  Tensor merged = t.reshape({6, 4});
  BOOST_TEST(merged.storage() == t.storage());
  Tensor transposed = t.transpose(1, 2);  // [2, 4, 3]
  Tensor split = transposed.reshape({2, 2, 2, 3});  // splitting a dim is still a view
  BOOST_TEST(split.storage() == t.storage());
  Tensor flattened = transposed.reshape({-1});  // needs a copy
  BOOST_TEST(flattened.storage() != t.storage());
  BOOST_TEST(flattened.at({1}) == 4.0);  // transposed(0, 0, 1) = t(0, 1, 0) = 4
  check_error_message([&] { (void)transposed.view({24}); }, "view: the strides of [2, 4, 3]");
  check_error_message([&] { (void)t.reshape({5, -1}); }, "reshape: cannot reshape [2, 3, 4] into [5, -1]");
}

BOOST_AUTO_TEST_CASE(slice_select_expand) {
  Tensor t = Tensor::arange(20).reshape({4, 5});
  Tensor sliced = t.slice(1, 1, 5, 2);  // columns 1 and 3
  BOOST_TEST((sliced.shape() == Shape{4, 2}));
  BOOST_TEST(sliced.at({2, 1}) == 13.0);
  BOOST_TEST(t.slice(0, -1, 4).at({0, 0}) == 15.0);
  BOOST_TEST(t.select(0, 2).at({4}) == 14.0);
  Tensor row = Tensor::arange(3).reshape({1, 3});
  Tensor expanded = row.expand({4, 3});
  BOOST_TEST(expanded.strides()[0] == 0);
  BOOST_TEST(expanded.at({3, 2}) == 2.0);
  check_error_message([&] { (void)row.expand({4, 4}); }, "expand: tensor [1, 3] cannot be expanded to [4, 4]");
  BOOST_TEST(t.slice(0, 2, 2).numel() == 0);
}

// contiguous() of permuted, sliced and expanded views, element by element against at(), on one
// and two threads: big enough that the rows split into several tasks, each starting its row
// index mid-way through the outer axes; short rows (the vectorized loop) and long ones (memcpy).
BOOST_AUTO_TEST_CASE(strided_copies_equal_indexing_on_any_thread_count) {
  const Tensor base = Tensor::arange(6 * 40 * 31 * 7, sf::DType::Float32).reshape({6, 40, 31, 7});
  const Tensor long_rows = Tensor::arange(3 * 5 * 600, sf::DType::Float64).reshape({3, 5, 600});
  const std::vector<Tensor> views = {base.permute({0, 2, 1, 3}), base.permute({3, 1, 0, 2}),
                                     base.slice(1, 3, 40, 4).slice(3, 1, 7, 2), base.slice(2, 0, 1).expand({6, 40, 9, 7}),
                                     long_rows.permute({1, 0, 2}), long_rows.slice(2, 10, 600, 1).permute({1, 0, 2})};
  for (int threads : {1, 2}) {
    sf::parallel::ThreadCountGuard guard(threads);
    for (std::size_t view_index = 0; view_index < views.size(); ++view_index) {
      const Tensor& view = views[view_index];
      const Tensor copy = view.contiguous();
      BOOST_TEST(copy.is_contiguous());
      const Shape& shape = view.shape();
      const std::vector<double> values = copy.to_vector();
      std::vector<std::int64_t> index(shape.size(), 0);
      int mismatches = 0;
      for (std::size_t flat = 0; flat < values.size(); ++flat) {
        double expected = 0;
        if (shape.size() == 4) expected = view.at({index[0], index[1], index[2], index[3]});
        else expected = view.at({index[0], index[1], index[2]});
        if (values[flat] != expected && mismatches++ < 3)
          BOOST_ERROR("view " << view_index << " threads " << threads << " element " << flat << ": " << values[flat]
                              << " != " << expected);
        for (std::size_t axis = shape.size(); axis-- > 0;) {
          if (++index[axis] < shape[axis]) break;
          index[axis] = 0;
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(copy_from_broadcasts_and_converts) {
  Tensor destination = Tensor::zeros({2, 3}, sf::DType::Float64);
  destination.copy_from(Tensor::from_vector(std::vector<float>{1, 2, 3}, {3}));
  BOOST_TEST(destination.at({1, 2}) == 3.0);
  const auto version = destination.storage()->version();
  destination.fill_(7.0);
  BOOST_TEST(destination.storage()->version() > version);
}

BOOST_AUTO_TEST_CASE(errors_name_the_op_and_shapes) {
  check_error_message([] { (void)sf::broadcast_shapes({32, 128}, {64, 16}, "add"); },
                      "add: shapes cannot be broadcast: [32, 128] vs [64, 16]");
  Tensor t = Tensor::zeros({2, 3});
  check_error_message([&] { (void)t.transpose(0, 2); }, "transpose: axis 2 out of range for 2-d tensor [2, 3]");
  check_error_message([&] { (void)t.data<double>(); }, "requested float64 from a float32 tensor [2, 3]");
  check_error_message([&] { (void)t.select(1, 3); }, "select: index 3 out of range for axis 1 of tensor [2, 3]");
}

BOOST_AUTO_TEST_CASE(live_bytes_track_storage) {
  const auto before = sf::Storage::live_bytes();
  {
    Tensor t = Tensor::empty({1000}, sf::DType::Float64);
    BOOST_TEST(sf::Storage::live_bytes() - before == 8000);
  }
  BOOST_TEST(sf::Storage::live_bytes() == before);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(random_numbers)

BOOST_AUTO_TEST_CASE(philox_matches_published_known_answer) {
  // Known-answer test from the Random123 distribution (kat_vectors): philox4x32-10,
  // counter = key = 0 -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
  auto words = sf::philox4x32({0, 0, 0, 0}, {0, 0});
  BOOST_TEST(words[0] == 0x6627e8d5u);
  BOOST_TEST(words[1] == 0xe169c58du);
  BOOST_TEST(words[2] == 0xbc57ac4cu);
  BOOST_TEST(words[3] == 0x9b00dbd8u);
}

BOOST_AUTO_TEST_CASE(streams_do_not_depend_on_thread_count) {
  std::vector<double> one_thread, two_threads;
  {
    sf::parallel::ThreadCountGuard guard(1);
    sf::Generator generator(42);
    one_thread = sf::normal({100003}, generator).to_vector();
  }
  {
    sf::parallel::ThreadCountGuard guard(2);
    sf::Generator generator(42);
    two_threads = sf::normal({100003}, generator).to_vector();
  }
  BOOST_TEST(one_thread == two_threads);
}

BOOST_AUTO_TEST_CASE(distributions_have_the_right_moments) {
  sf::Generator generator(7);
  auto check_moments = [](const std::vector<double>& values, double mean, double variance) {
    double sum = 0, sum_squares = 0;
    for (double value : values) sum += value;
    const double sample_mean = sum / static_cast<double>(values.size());
    for (double value : values) sum_squares += (value - sample_mean) * (value - sample_mean);
    BOOST_TEST(std::abs(sample_mean - mean) < 0.01);
    BOOST_TEST(std::abs(sum_squares / static_cast<double>(values.size()) - variance) < 0.01);
  };
  check_moments(sf::uniform({200000}, generator, 0, 1, sf::DType::Float64).to_vector(), 0.5, 1.0 / 12);
  check_moments(sf::normal({200000}, generator).to_vector(), 0.0, 1.0);
  check_moments(sf::bernoulli({200000}, generator, 0.3).to_vector(), 0.3, 0.21);
  BOOST_TEST(generator.offset == 600000u);
}

BOOST_AUTO_TEST_SUITE_END()
