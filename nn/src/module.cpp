#include "sf/nn/module.hpp"

#include <fmt/format.h>

namespace sf::nn {

Variable& Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  if (name.empty() || name.find('.') != std::string::npos)
    fail("register_parameter: invalid name '{}' (non-empty, no dots)", name);
  for (const auto& [existing, parameter] : parameters_)
    if (existing == name) fail("register_parameter: '{}' is already registered in {}", name, describe());
  parameters_.emplace_back(name, Variable(std::move(value), requires_grad, name));
  return parameters_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  if (!module) fail("register_module: module '{}' is null", name);
  if (name.empty() || name.find('.') != std::string::npos)
    fail("register_module: invalid name '{}' (non-empty, no dots)", name);
  for (const auto& [existing, child] : children_)
    if (existing == name) fail("register_module: '{}' is already registered in {}", name, describe());
  children_.emplace_back(name, std::move(module));
}

void Module::collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& out) const {
  for (const auto& [name, parameter] : parameters_) out.emplace_back(prefix + name, parameter);
  for (const auto& [name, child] : children_) child->collect_parameters(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Variable>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Variable>> result;
  collect_parameters("", result);
  return result;
}

std::vector<Variable> Module::parameters() const {
  std::vector<Variable> result;
  for (auto& [name, parameter] : named_parameters()) result.push_back(parameter);
  return result;
}

std::int64_t Module::parameter_count() const {
  std::int64_t count = 0;
  for (const auto& [name, parameter] : named_parameters()) count += parameter.numel();
  return count;
}

void Module::train(bool training) {
  apply([training](Module& module) { module.training_ = training; });
}

void Module::zero_grad() {
  for (auto& [name, parameter] : named_parameters()) parameter.zero_grad();
}

void Module::to(DType dtype) {
  for (auto& [name, parameter] : named_parameters()) {
    parameter.impl()->data = parameter.data().to(dtype);
    parameter.zero_grad();
  }
}

void Module::apply(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (auto& [name, child] : children_) child->apply(fn);
}

void Module::print(const std::string& name, int depth, std::string& out) const {
  const std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
  out += fmt::format("{}{}{}  [{} parameters]\n", indent, name.empty() ? "" : "(" + name + "): ", describe(),
                     parameter_count());
  for (const auto& [parameter_name, parameter] : parameters_)
    out += fmt::format("{}  {} {} {}\n", indent, parameter_name, dtype_name(parameter.dtype()),
                       shape_string(parameter.shape()));
  for (const auto& [child_name, child] : children_) child->print(child_name, depth + 1, out);
}

std::string Module::to_string() const {
  std::string out;
  print("", 0, out);
  return out;
}

}  // namespace sf::nn
