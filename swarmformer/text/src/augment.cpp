// Text augmentation transforms; the rules are in augment.hpp.
#include "sf/swarmformer/augment.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "sf/core/error.hpp"

namespace sf {
namespace {

// Streams of the seed, one per transform, so adding one transform leaves the others' draws alone.
constexpr std::uint64_t shuffle_stream = 0x5e57e7ce, synonym_stream = 0x5707, concatenate_stream = 0xc0ca7;
constexpr double keep_pair_probability = 0.7;
constexpr std::array<std::string_view, 6> connectives{"Additionally, ", "Furthermore, ", "Moreover, ",
                                                      "In contrast, ",  "Similarly, ",   "On the other hand, "};
constexpr std::array<std::string_view, 24> abbreviations{"mr", "mrs", "ms", "dr", "st", "vs", "jr", "sr",
                                                         "prof", "etc", "e.g", "i.e", "no", "vol", "approx", "inc",
                                                         "ltd", "co", "mt", "ft", "lt", "col", "gen", "rev"};

bool is_space(char character) { return std::isspace(static_cast<unsigned char>(character)) != 0; }

// The word that ends just before `end` (the position of the first closing punctuation mark).
std::string lower_word_before(std::string_view text, std::size_t end) {
  std::size_t start = end;
  while (start > 0 && !is_space(text[start - 1]) && text[start - 1] != '>' && text[start - 1] != '(' && text[start - 1] != '"')
    --start;
  std::string word(text.substr(start, end - start));
  for (char& character : word) character = static_cast<char>(std::tolower(static_cast<unsigned char>(character)));
  return word;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

AugmentOptions AugmentOptions::parse(const std::string& spec) {
  AugmentOptions options;
  if (spec.empty() || spec == "none") return options;
  std::size_t start = 0;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string entry = spec.substr(start, comma - start);
    const std::size_t colon = entry.find(':');
    if (colon == std::string::npos)
      fail("augment \"{}\": entry '{}' is not transform:amount (e.g. sentence_shuffle:0.3)", spec, entry);
    const std::string name = entry.substr(0, colon), text = entry.substr(colon + 1);
    std::size_t used = 0;
    double amount = 0.0;
    try {
      amount = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || !(amount >= 0.0 && amount <= 1.0))
      fail("augment \"{}\": the amount of '{}' must be a number in [0, 1], got '{}'", spec, name, text);
    if (name == "sentence_shuffle") options.sentence_shuffle = amount;
    else if (name == "synonym_swap") options.synonym_swap = amount;
    else if (name == "concatenate") options.concatenate = amount;
    else fail("augment \"{}\": unknown transform '{}' (known: sentence_shuffle, synonym_swap, concatenate)", spec, name);
    start = comma + 1;
  }
  return options;
}

std::vector<std::string_view> split_sentences(std::string_view text) {
  std::vector<std::string_view> sentences;
  std::size_t start = 0, position = 0;
  while (position < text.size()) {
    const char character = text[position];
    if (character != '.' && character != '!' && character != '?') {
      ++position;
      continue;
    }
    const std::size_t mark = position;
    while (position < text.size() && (text[position] == '.' || text[position] == '!' || text[position] == '?')) ++position;
    while (position < text.size() && (text[position] == '"' || text[position] == '\'' || text[position] == ')' ||
                                      text[position] == ']'))
      ++position;
    const bool boundary = position == text.size() || is_space(text[position]) || text.substr(position, 3) == "<br";
    if (!boundary) continue;
    if (text[mark] == '.' && position == mark + 1) {
      const std::string word = lower_word_before(text, mark);
      const bool initial = word.size() == 1 && std::isalpha(static_cast<unsigned char>(word[0]));
      if (initial || std::find(abbreviations.begin(), abbreviations.end(), word) != abbreviations.end()) continue;
    }
    if (const std::string_view sentence = trim(text.substr(start, position - start)); !sentence.empty())
      sentences.push_back(sentence);
    start = position;
  }
  if (const std::string_view rest = trim(text.substr(std::min(start, text.size()))); !rest.empty()) sentences.push_back(rest);
  return sentences;
}

std::string shuffle_sentences(std::string_view text, Generator& generator) {
  const std::vector<std::string_view> sentences = split_sentences(text);
  if (sentences.size() <= 2) return std::string(text);
  std::vector<std::string> chunks;
  for (std::size_t index = 0; index < sentences.size();) {
    if (index + 1 < sentences.size() && generator.next_uniform() < keep_pair_probability) {
      chunks.push_back(std::string(sentences[index]) + " " + std::string(sentences[index + 1]));
      index += 2;
    } else {
      chunks.emplace_back(sentences[index]);
      index += 1;
    }
  }
  for (std::size_t index = chunks.size(); index > 1; --index)  // Fisher-Yates
    std::swap(chunks[index - 1], chunks[generator.next_below(index)]);
  std::string result;
  for (const std::string& chunk : chunks) {
    if (!result.empty()) result += ' ';
    result += chunk;
  }
  return result;
}

std::string swap_synonyms(std::string_view text, double word_probability, const WordNet& wordnet, Generator& generator) {
  std::string result;
  std::size_t position = 0;
  while (position < text.size()) {
    while (position < text.size() && is_space(text[position])) ++position;
    const std::size_t start = position;
    while (position < text.size() && !is_space(text[position])) ++position;
    if (position == start) break;
    const std::string_view word = text.substr(start, position - start);
    if (!result.empty()) result += ' ';
    if (generator.next_uniform() < word_probability) {
      const std::vector<std::string> synonyms = wordnet.synonyms(word);
      if (!synonyms.empty()) {
        result += synonyms[generator.next_below(synonyms.size())];
        continue;
      }
    }
    result += word;
  }
  return result;
}

std::string concatenate_texts(const std::vector<std::string_view>& texts, Generator& generator) {
  std::string result;
  for (std::size_t index = 0; index < texts.size(); ++index) {
    if (index > 0) {
      result += ' ';
      result += connectives[generator.next_below(connectives.size())];
    }
    result += texts[index];
  }
  return result;
}

TextDataset augment_dataset(const TextDataset& dataset, const AugmentOptions& options, std::uint64_t seed,
                            nlohmann::json* summary) {
  TextDataset result = dataset;
  const std::int64_t count = dataset.size();
  auto add = [&](std::string text, std::int32_t label) {
    result.texts.push_back(std::move(text));
    result.labels.push_back(label);
  };
  std::int64_t shuffled = 0, swapped = 0, concatenated = 0;
  if (options.sentence_shuffle > 0.0) {
    Generator generator = Generator(seed).fork(shuffle_stream);
    for (std::int64_t row = 0; row < count; ++row)
      if (generator.next_uniform() < options.sentence_shuffle) {
        add(shuffle_sentences(dataset.texts[static_cast<std::size_t>(row)], generator), dataset.labels[static_cast<std::size_t>(row)]);
        ++shuffled;
      }
  }
  if (options.synonym_swap > 0.0) {
    const WordNet wordnet = WordNet::load(options.wordnet_dir);
    Generator generator = Generator(seed).fork(synonym_stream);
    for (std::int64_t row = 0; row < count; ++row)
      if (generator.next_uniform() < options.synonym_swap) {
        add(swap_synonyms(dataset.texts[static_cast<std::size_t>(row)], options.synonym_word_probability, wordnet, generator),
            dataset.labels[static_cast<std::size_t>(row)]);
        ++swapped;
      }
  }
  if (options.concatenate > 0.0 && count > 0) {
    std::vector<std::vector<std::int64_t>> rows_of_class(dataset.class_names.size());
    for (std::int64_t row = 0; row < count; ++row)
      rows_of_class[static_cast<std::size_t>(dataset.labels[static_cast<std::size_t>(row)])].push_back(row);
    Generator generator = Generator(seed).fork(concatenate_stream);
    const auto new_count = static_cast<std::int64_t>(std::floor(options.concatenate * static_cast<double>(count)));
    for (std::int64_t made = 0; made < new_count; ++made) {
      // The class of a random example: classes in proportion to their size.
      const std::int32_t label = dataset.labels[generator.next_below(static_cast<std::uint64_t>(count))];
      std::vector<std::int64_t> pool = rows_of_class[static_cast<std::size_t>(label)];
      const std::size_t parts = std::min<std::size_t>(2 + generator.next_below(2), pool.size());
      std::vector<std::string_view> texts;
      for (std::size_t part = 0; part < parts; ++part) {  // drawn without replacement
        const std::size_t pick = part + generator.next_below(pool.size() - part);
        std::swap(pool[part], pool[pick]);
        texts.emplace_back(dataset.texts[static_cast<std::size_t>(pool[part])]);
      }
      add(concatenate_texts(texts, generator), label);
      ++concatenated;
    }
  }
  if (summary)
    *summary = {{"original", count}, {"sentence_shuffle", shuffled}, {"synonym_swap", swapped},
                {"concatenate", concatenated}, {"total", result.size()}};
  return result;
}

}  // namespace sf
