#include "sf/nn/layers.hpp"

#include <cmath>

#include "sf/nn/init.hpp"

namespace sf::nn {

Linear::Linear(const LinearOptions& linear_options, Generator& init_generator) : options(linear_options) {
  if (options.in_features <= 0 || options.out_features <= 0)
    fail("Linear: in_features and out_features must be positive, got {} and {}", options.in_features,
         options.out_features);
  // PyTorch's reset_parameters: kaiming_uniform(a=√5) gives U(-1/√in, 1/√in); the bias likewise.
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_features));
  Tensor weight_value = Tensor::empty({options.out_features, options.in_features});
  init::kaiming_uniform_(weight_value, init_generator, std::sqrt(5.0));
  weight = register_parameter("weight", weight_value);
  if (options.bias) bias = register_parameter("bias", uniform({options.out_features}, init_generator, -bound, bound));
}

Variable Linear::forward(const Variable& x) { return linear(x, weight, bias); }

std::string Linear::describe() const {
  return fmt::format("Linear(in_features={}, out_features={}, bias={})", options.in_features, options.out_features,
                     options.bias);
}

Embedding::Embedding(const EmbeddingOptions& embedding_options, Generator& init_generator)
    : options(embedding_options) {
  if (options.vocabulary_size <= 0 || options.dimension <= 0)
    fail("Embedding: vocabulary_size and dimension must be positive, got {} and {}", options.vocabulary_size,
         options.dimension);
  if (options.padding_index >= options.vocabulary_size)
    fail("Embedding: padding_index {} out of range for vocabulary {}", options.padding_index, options.vocabulary_size);
  Tensor weight_value = normal({options.vocabulary_size, options.dimension}, init_generator);
  if (options.padding_index >= 0) weight_value.select(0, options.padding_index).fill_(0.0);
  weight = register_parameter("weight", weight_value);
}

Variable Embedding::forward(const std::vector<std::int64_t>& ids, const Shape& ids_shape) {
  return embedding(weight, ids, ids_shape, options.padding_index);
}

std::string Embedding::describe() const {
  return fmt::format("Embedding({}, {}{})", options.vocabulary_size, options.dimension,
                     options.padding_index >= 0 ? fmt::format(", padding_index={}", options.padding_index) : "");
}

LayerNorm::LayerNorm(const LayerNormOptions& layer_norm_options) : options(layer_norm_options) {
  if (options.dimension <= 0) fail("LayerNorm: dimension must be positive, got {}", options.dimension);
  if (options.elementwise_affine) {
    weight = register_parameter("weight", Tensor::ones({options.dimension}));
    bias = register_parameter("bias", Tensor::zeros({options.dimension}));
  }
}

Variable LayerNorm::forward(const Variable& x) {
  if (x.dim() == 0 || x.size(-1) != options.dimension)
    fail("LayerNorm: input {} does not end in dimension {}", shape_string(x.shape()), options.dimension);
  return layer_norm(x, weight, bias, options.eps);
}

std::string LayerNorm::describe() const {
  return fmt::format("LayerNorm({}, eps={}, elementwise_affine={})", options.dimension, options.eps,
                     options.elementwise_affine);
}

Dropout::Dropout(double dropout_probability, std::shared_ptr<Generator> generator)
    : probability(dropout_probability), generator_(std::move(generator)) {
  if (!(probability >= 0.0 && probability < 1.0)) fail("Dropout: probability must be in [0, 1), got {}", probability);
  if (!generator_) fail("Dropout: a generator is required");
}

Variable Dropout::forward(const Variable& x) { return dropout(x, probability, is_training(), *generator_); }

std::string Dropout::describe() const { return fmt::format("Dropout(p={})", probability); }

Activation activation_from_name(const std::string& name) {
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_tanh") return Activation::GeluTanh;
  if (name == "relu") return Activation::Relu;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "tanh") return Activation::Tanh;
  if (name == "identity") return Activation::Identity;
  fail("unknown activation '{}' (expected gelu, gelu_tanh, relu, sigmoid, tanh or identity)", name);
}

std::string activation_name(Activation activation) {
  switch (activation) {
    case Activation::Gelu: return "gelu";
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::Relu: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Tanh: return "tanh";
    case Activation::Identity: return "identity";
  }
  return "identity";
}

Variable activate(Activation activation, const Variable& x) {
  switch (activation) {
    case Activation::Gelu: return gelu(x, GeluApproximation::Erf);
    case Activation::GeluTanh: return gelu(x, GeluApproximation::Tanh);
    case Activation::Relu: return relu(x);
    case Activation::Sigmoid: return sigmoid(x);
    case Activation::Tanh: return tanh(x);
    case Activation::Identity: return x;
  }
  return x;
}

std::string ActivationLayer::describe() const { return fmt::format("Activation({})", activation_name(activation)); }

Sequential& Sequential::append(std::shared_ptr<UnaryModule> module) {
  register_module(std::to_string(layers_.size()), module);
  layers_.push_back(std::move(module));
  return *this;
}

Variable Sequential::forward(const Variable& x) {
  Variable output = x;
  for (auto& layer : layers_) output = layer->forward(output);
  return output;
}

MLP::MLP(const MLPOptions& mlp_options, Generator& init_generator, std::shared_ptr<Generator> dropout_generator)
    : options(mlp_options) {
  append(std::make_shared<Linear>(LinearOptions{options.in_features, options.hidden_features}, init_generator));
  append(std::make_shared<ActivationLayer>(options.activation));
  append(std::make_shared<Dropout>(options.dropout, std::move(dropout_generator)));
  append(std::make_shared<Linear>(LinearOptions{options.hidden_features, options.out_features}, init_generator));
}

std::string MLP::describe() const {
  return fmt::format("MLP({} -> {} -> {}, {}, dropout={})", options.in_features, options.hidden_features,
                     options.out_features, activation_name(options.activation), options.dropout);
}

}  // namespace sf::nn
