// LR schedules against their closed forms at the boundaries (step 0, warmup - 1, warmup, the
// decay's middle, total, beyond total), JSON round trips and the error messages.
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <numbers>

#include "sf/nn/lr_schedule.hpp"
#include "test_util.hpp"

using sf::LRSchedule;
using sf::test::check_error_message;

namespace {

constexpr double kTolerance = 1e-15;

LRSchedule make(LRSchedule::Kind kind, double base, std::int64_t warmup, std::int64_t total, double minimum) {
  LRSchedule schedule;
  schedule.kind = kind;
  schedule.base_learning_rate = base;
  schedule.warmup_steps = warmup;
  schedule.total_steps = total;
  schedule.minimum_learning_rate = minimum;
  return schedule;
}

void check_close(double actual, double expected) {
  BOOST_TEST(std::abs(actual - expected) <= kTolerance * std::max(1.0, std::abs(expected)),
             "actual " << actual << " vs expected " << expected);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lr_schedule)

BOOST_AUTO_TEST_CASE(constant_with_and_without_warmup) {
  const LRSchedule plain = make(LRSchedule::Kind::Constant, 0.01, 0, 0, 0.0);
  for (std::int64_t step : {0, 1, 1000000}) BOOST_TEST(plain.learning_rate(step) == 0.01);
  const LRSchedule warm = make(LRSchedule::Kind::Constant, 0.01, 10, 0, 0.0);
  BOOST_TEST(warm.learning_rate(0) == 0.0);  // Hugging Face convention: the first update has lr 0
  check_close(warm.learning_rate(5), 0.005);
  check_close(warm.learning_rate(9), 0.009);
  BOOST_TEST(warm.learning_rate(10) == 0.01);
  BOOST_TEST(warm.learning_rate(12345) == 0.01);
}

BOOST_AUTO_TEST_CASE(warmup_cosine_matches_its_closed_form) {
  const double base = 1e-3, minimum = 1e-5;
  const LRSchedule schedule = make(LRSchedule::Kind::WarmupCosine, base, 10, 110, minimum);
  BOOST_TEST(schedule.learning_rate(0) == 0.0);
  check_close(schedule.learning_rate(1), base / 10);
  check_close(schedule.learning_rate(9), base * 9 / 10);
  check_close(schedule.learning_rate(10), base);  // warmup ends exactly at the peak
  check_close(schedule.learning_rate(35), minimum + (base - minimum) * (1 + std::cos(std::numbers::pi / 4)) / 2);
  check_close(schedule.learning_rate(60), (base + minimum) / 2);  // the middle of the decay
  check_close(schedule.learning_rate(109), minimum + (base - minimum) * (1 + std::cos(std::numbers::pi * 0.99)) / 2);
  check_close(schedule.learning_rate(110), minimum);
  check_close(schedule.learning_rate(111), minimum);  // clamped: no second cosine period
  check_close(schedule.learning_rate(1000000), minimum);
}

BOOST_AUTO_TEST_CASE(warmup_cosine_without_warmup_starts_at_the_base) {
  const LRSchedule schedule = make(LRSchedule::Kind::WarmupCosine, 0.1, 0, 4, 0.0);
  check_close(schedule.learning_rate(0), 0.1);
  check_close(schedule.learning_rate(1), 0.1 * (1 + std::cos(std::numbers::pi / 4)) / 2);
  check_close(schedule.learning_rate(2), 0.05);
  BOOST_TEST(std::abs(schedule.learning_rate(4)) <= 1e-18);
}

BOOST_AUTO_TEST_CASE(linear_decay_matches_its_closed_form) {
  const double base = 0.5, minimum = 0.1;
  const LRSchedule schedule = make(LRSchedule::Kind::LinearDecay, base, 4, 24, minimum);
  BOOST_TEST(schedule.learning_rate(0) == 0.0);
  check_close(schedule.learning_rate(3), base * 3 / 4);
  check_close(schedule.learning_rate(4), base);
  check_close(schedule.learning_rate(9), minimum + (base - minimum) * (1 - 5.0 / 20));
  check_close(schedule.learning_rate(14), (base + minimum) / 2);
  check_close(schedule.learning_rate(23), minimum + (base - minimum) / 20);
  check_close(schedule.learning_rate(24), minimum);
  check_close(schedule.learning_rate(100), minimum);
  // Hugging Face's get_linear_schedule_with_warmup is the minimum = 0 case: base*(T-step)/(T-W).
  const LRSchedule hugging_face = make(LRSchedule::Kind::LinearDecay, 2e-5, 100, 1000, 0.0);
  for (std::int64_t step : {100, 250, 999, 1000})
    check_close(hugging_face.learning_rate(step), 2e-5 * static_cast<double>(1000 - step) / 900.0);
}

BOOST_AUTO_TEST_CASE(step_decay_matches_its_closed_form) {
  LRSchedule schedule = make(LRSchedule::Kind::Step, 0.1, 2, 0, 0.0);
  schedule.step_size = 3;
  schedule.gamma = 0.5;
  BOOST_TEST(schedule.learning_rate(0) == 0.0);
  check_close(schedule.learning_rate(1), 0.05);
  check_close(schedule.learning_rate(2), 0.1);  // decays count from the end of warmup
  check_close(schedule.learning_rate(4), 0.1);
  check_close(schedule.learning_rate(5), 0.05);
  check_close(schedule.learning_rate(7), 0.05);
  check_close(schedule.learning_rate(8), 0.025);
  check_close(schedule.learning_rate(2 + 3 * 10), 0.1 * std::pow(0.5, 10));
  schedule.minimum_learning_rate = 0.02;
  check_close(schedule.learning_rate(11), 0.02);  // 0.1 * 0.5^3 = 0.0125 is below the floor
  check_close(schedule.learning_rate(8), 0.025);
}

BOOST_AUTO_TEST_CASE(kind_names_parse_and_print) {
  for (auto kind : {LRSchedule::Kind::Constant, LRSchedule::Kind::WarmupCosine, LRSchedule::Kind::LinearDecay,
                    LRSchedule::Kind::Step})
    BOOST_TEST((sf::parse_lr_schedule_kind(sf::lr_schedule_kind_name(kind)) == kind));
  BOOST_TEST(sf::lr_schedule_kind_name(LRSchedule::Kind::WarmupCosine) == "warmup_cosine");
  BOOST_TEST(sf::lr_schedule_kind_name(LRSchedule::Kind::LinearDecay) == "linear");
  check_error_message([] { sf::parse_lr_schedule_kind("cosine"); },
                      "lr schedule: unknown kind \"cosine\" (valid: constant, warmup_cosine, linear, step)");
}

BOOST_AUTO_TEST_CASE(json_round_trip_and_defaults) {
  LRSchedule schedule = make(LRSchedule::Kind::Step, 0.3, 7, 0, 0.01);
  schedule.step_size = 5;
  schedule.gamma = 0.9;
  const nlohmann::json json = schedule.to_json();
  BOOST_TEST(json["kind"] == "step");
  BOOST_TEST(json["step_size"] == 5);
  BOOST_TEST(json.size() == 7u);
  const LRSchedule copy = LRSchedule::from_json(json);
  BOOST_TEST(copy.to_json() == json);
  for (std::int64_t step : {0, 6, 7, 12, 100}) BOOST_TEST(copy.learning_rate(step) == schedule.learning_rate(step));

  const LRSchedule partial = LRSchedule::from_json(
      {{"kind", "warmup_cosine"}, {"base_learning_rate", 3e-4}, {"warmup_steps", 100}, {"total_steps", 1000}});
  BOOST_TEST((partial.kind == LRSchedule::Kind::WarmupCosine));
  BOOST_TEST(partial.base_learning_rate == 3e-4);
  BOOST_TEST(partial.minimum_learning_rate == LRSchedule{}.minimum_learning_rate);
  BOOST_TEST((LRSchedule::from_json(nlohmann::json::object()).kind == LRSchedule::Kind::Constant));
  BOOST_TEST(LRSchedule::from_json({{"base_learning_rate", 1}}).base_learning_rate == 1.0);  // integers are numbers
}

BOOST_AUTO_TEST_CASE(json_errors_name_the_field) {
  check_error_message([] { LRSchedule::from_json({{"kind", "constant"}, {"warmup_step", 5}}); },
                      "lr schedule: unknown field \"warmup_step\" (valid: kind, base_learning_rate, warmup_steps, "
                      "total_steps, minimum_learning_rate, step_size, gamma)");
  check_error_message([] { LRSchedule::from_json({{"kind", "exponential"}}); }, "unknown kind \"exponential\"");
  check_error_message([] { LRSchedule::from_json({{"kind", 3}}); }, "\"kind\" must be a string");
  check_error_message([] { LRSchedule::from_json({{"warmup_steps", 2.5}}); }, "\"warmup_steps\" must be an integer");
  check_error_message([] { LRSchedule::from_json({{"gamma", "half"}}); }, "\"gamma\" must be a number");
  check_error_message([] { LRSchedule::from_json(nlohmann::json::array()); }, "expected a JSON object");
  check_error_message([] { LRSchedule::from_json({{"kind", "linear"}, {"warmup_steps", 10}, {"total_steps", 10}}); },
                      "lr schedule linear: total_steps (10) must be larger than warmup_steps (10)");
}

BOOST_AUTO_TEST_CASE(invalid_schedules_and_steps_are_errors) {
  check_error_message([] { make(LRSchedule::Kind::Constant, 0.1, 0, 0, 0.0).learning_rate(-1); },
                      "lr schedule constant: step must be >= 0, got -1");
  check_error_message([] { make(LRSchedule::Kind::WarmupCosine, 0.1, 5, 3, 0.0).learning_rate(0); },
                      "total_steps (3) must be larger than warmup_steps (5)");
  check_error_message([] { make(LRSchedule::Kind::Constant, 0.1, 0, 0, 0.2).validate(); },
                      "minimum_learning_rate must lie in [0, base_learning_rate = 0.1], got 0.2");
  check_error_message([] { make(LRSchedule::Kind::Constant, -1.0, 0, 0, 0.0).validate(); },
                      "base_learning_rate must be finite and >= 0, got -1");
  check_error_message([] { make(LRSchedule::Kind::Constant, 0.1, -2, 0, 0.0).validate(); },
                      "warmup_steps must be >= 0, got -2");
  LRSchedule step = make(LRSchedule::Kind::Step, 0.1, 0, 0, 0.0);
  step.step_size = 0;
  check_error_message([&] { step.validate(); }, "lr schedule step: step_size must be >= 1, got 0");
  step.step_size = 1;
  step.gamma = 0.0;
  check_error_message([&] { step.validate(); }, "gamma must be finite and > 0, got 0");
}

BOOST_AUTO_TEST_SUITE_END()
