// Module: the building block of models, after libtorch's nn::Module.
//
// A module owns named parameters (leaf Variables with requires_grad) and named child modules.
// named_parameters() walks the tree depth-first in registration order and joins names with
// dots ("layers.0.local_agg.mlp.0.weight"); those names are the checkpoint keys. Forward
// functions are ordinary member functions with the signature each layer needs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sf/autograd/variable.hpp"

namespace sf::nn {

class Module {
 public:
  virtual ~Module() = default;

  // A one-line description, e.g. "Linear(in_features=128, out_features=2, bias=true)".
  virtual std::string describe() const = 0;

  // Registers a parameter (a leaf Variable with requires_grad) under `name`.
  Variable& register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  // Registers a child module under `name`; returns it for convenience.
  template <class ModuleType>
  std::shared_ptr<ModuleType> register_module(const std::string& name, std::shared_ptr<ModuleType> module) {
    add_child(name, module);
    return module;
  }

  std::vector<std::pair<std::string, Variable>> named_parameters() const;
  std::vector<Variable> parameters() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  std::int64_t parameter_count() const;

  // Training mode switches dropout and Gumbel noise on; evaluation mode switches them off.
  void train(bool training = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  void zero_grad();
  // Converts every parameter to `dtype` in place (float64 for gradient checks).
  void to(DType dtype);
  // Calls fn on this module and every descendant, parents first.
  void apply(const std::function<void(Module&)>& fn);
  // The module tree with each module's description, parameter shapes and counts, like
  // printing a PyTorch model.
  std::string to_string() const;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Variable>>& out) const;
  void print(const std::string& name, int depth, std::string& out) const;

  std::vector<std::pair<std::string, Variable>> parameters_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace sf::nn
