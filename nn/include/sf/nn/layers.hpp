// The basic layers. Each has an Options struct with defaults and a forward of a few lines over
// the differentiable ops of sf/autograd/functional.hpp.
//
// Shapes: Linear [..., in] -> [..., out]; Embedding ids [...] -> [..., D]; LayerNorm, Dropout,
// activations keep the shape; MLP [..., in] -> [..., out].
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sf/autograd/functional.hpp"
#include "sf/nn/module.hpp"

namespace sf::nn {

// A module with one input and one output, so it can sit in a Sequential.
class UnaryModule : public Module {
 public:
  virtual Variable forward(const Variable& x) = 0;
  Variable operator()(const Variable& x) { return forward(x); }
};

struct LinearOptions {
  std::int64_t in_features = 0;
  std::int64_t out_features = 0;
  bool bias = true;
};
// y = x Wᵀ + b with W [out, in] (PyTorch's layout and default initialization).
class Linear : public UnaryModule {
 public:
  Linear(const LinearOptions& options, Generator& init_generator);
  Variable forward(const Variable& x) override;
  std::string describe() const override;
  Variable weight, bias;  // bias undefined when options.bias is false
  LinearOptions options;
};

struct EmbeddingOptions {
  std::int64_t vocabulary_size = 0;
  std::int64_t dimension = 0;
  std::int64_t padding_index = -1;  // -1: none; else that row starts at zero and gets no gradient
};
class Embedding : public Module {
 public:
  Embedding(const EmbeddingOptions& options, Generator& init_generator);
  // ids row-major with shape ids_shape -> [..., D]
  Variable forward(const std::vector<std::int64_t>& ids, const Shape& ids_shape);
  std::string describe() const override;
  Variable weight;
  EmbeddingOptions options;
};

struct LayerNormOptions {
  std::int64_t dimension = 0;
  double eps = 1e-5;
  bool elementwise_affine = true;
};
class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(const LayerNormOptions& options);
  Variable forward(const Variable& x) override;
  std::string describe() const override;
  Variable weight, bias;
  LayerNormOptions options;
};

// Inverted dropout drawing from a generator shared by the model, so the whole model's noise is
// one (seed, offset) pair that checkpoints store.
class Dropout : public UnaryModule {
 public:
  Dropout(double probability, std::shared_ptr<Generator> generator);
  Variable forward(const Variable& x) override;
  std::string describe() const override;
  double probability;

 private:
  std::shared_ptr<Generator> generator_;
};

enum class Activation { Gelu, GeluTanh, Relu, Sigmoid, Tanh, Identity };
Activation activation_from_name(const std::string& name);  // "gelu", "gelu_tanh", "relu", ...
std::string activation_name(Activation activation);
Variable activate(Activation activation, const Variable& x);

class ActivationLayer : public UnaryModule {
 public:
  explicit ActivationLayer(Activation activation) : activation(activation) {}
  Variable forward(const Variable& x) override { return activate(activation, x); }
  std::string describe() const override;
  Activation activation;
};

// Applies its children in order; children are named "0", "1", ... like torch.nn.Sequential,
// so parameter names match PyTorch's (e.g. "mlp.0.weight", "mlp.3.bias").
class Sequential : public UnaryModule {
 public:
  Sequential() = default;
  Sequential& append(std::shared_ptr<UnaryModule> module);
  Variable forward(const Variable& x) override;
  std::string describe() const override { return "Sequential"; }
  std::size_t size() const { return layers_.size(); }
  UnaryModule& operator[](std::size_t index) { return *layers_.at(index); }

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

struct MLPOptions {
  std::int64_t in_features = 0;
  std::int64_t hidden_features = 0;
  std::int64_t out_features = 0;
  Activation activation = Activation::Gelu;
  double dropout = 0.0;
};
// Linear(in, hidden) – activation – Dropout – Linear(hidden, out): children "0", "1", "2", "3".
class MLP : public Sequential {
 public:
  MLP(const MLPOptions& options, Generator& init_generator, std::shared_ptr<Generator> dropout_generator);
  std::string describe() const override;
  MLPOptions options;
};

}  // namespace sf::nn
