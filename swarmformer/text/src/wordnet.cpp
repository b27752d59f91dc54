// WordNet database reader and synonym lookup; the rules are in wordnet.hpp.
//
// data.<pos> line:  offset lex_filenum ss_type w_cnt(2 hex digits) {word lex_id(hex)}×w_cnt p_cnt ...
// The file opens with license lines that start with two spaces. Adjective words may end in a
// syntactic marker "(a)", "(p)" or "(ip)", which is not part of the name.
// <pos>.exc line:   inflected_form base_form [base_form ...]
#include "sf/swarmformer/wordnet.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "sf/core/error.hpp"

namespace sf {

struct WordNet::Tables {
  static constexpr std::size_t part_count = 4;  // noun, verb, adj, adv
  std::vector<std::vector<std::string>> synset_names;  // every synset's lemma names, as written
  std::array<std::unordered_map<std::string, std::vector<std::uint32_t>>, part_count> synsets_of;  // lower-case lemma
  std::array<std::unordered_map<std::string, std::vector<std::string>>, part_count> exceptions;
};

namespace {

constexpr std::array<const char*, 4> part_names{"noun", "verb", "adj", "adv"};

using Rules = std::vector<std::pair<std::string_view, std::string_view>>;
const std::array<Rules, 4>& detachment_rules() {
  static const std::array<Rules, 4> rules{
      Rules{{"s", ""}, {"ses", "s"}, {"ves", "f"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}},
      Rules{{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""}},
      Rules{{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}},
      Rules{}};
  return rules;
}

std::string lower(std::string_view text) {
  std::string result(text);
  for (char& character : result) character = static_cast<char>(std::tolower(static_cast<unsigned char>(character)));
  return result;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> result;
  std::size_t position = 0;
  while (position < line.size()) {
    while (position < line.size() && line[position] == ' ') ++position;
    const std::size_t start = position;
    while (position < line.size() && line[position] != ' ') ++position;
    if (position > start) result.push_back(line.substr(start, position - start));
  }
  return result;
}

std::ifstream open_file(const std::filesystem::path& path) {
  std::ifstream stream(path);
  if (!stream)
    fail("wordnet: cannot open {} (install Debian's wordnet-base, or point wordnet_dir at a WordNet 3.0 dict folder)",
         path.string());
  return stream;
}

void read_data_file(const std::filesystem::path& path, std::size_t part, WordNet::Tables& tables) {
  std::ifstream stream = open_file(path);
  std::string line;
  std::int64_t line_number = 0;
  while (std::getline(stream, line)) {
    ++line_number;
    if (line.empty() || line[0] == ' ') continue;  // license header
    const std::vector<std::string_view> parts = fields(std::string_view(line).substr(0, line.find('|')));
    std::size_t word_count = 0;
    if (parts.size() >= 4) word_count = std::strtoul(std::string(parts[3]).c_str(), nullptr, 16);
    if (parts.size() < 4 || word_count == 0 || parts.size() < 4 + 2 * word_count)
      fail("wordnet: {}:{}: malformed synset line", path.string(), line_number);
    const auto synset = static_cast<std::uint32_t>(tables.synset_names.size());
    std::vector<std::string>& names = tables.synset_names.emplace_back();
    for (std::size_t index = 0; index < word_count; ++index) {
      std::string_view word = parts[4 + 2 * index];
      if (const std::size_t marker = word.find('('); marker != std::string_view::npos && word.back() == ')')
        word = word.substr(0, marker);
      names.emplace_back(word);
      std::vector<std::uint32_t>& list = tables.synsets_of[part][lower(word)];
      if (list.empty() || list.back() != synset) list.push_back(synset);
    }
  }
}

void read_exception_file(const std::filesystem::path& path, std::size_t part, WordNet::Tables& tables) {
  std::ifstream stream = open_file(path);
  std::string line;
  while (std::getline(stream, line)) {
    const std::vector<std::string_view> parts = fields(line);
    if (parts.size() < 2) continue;
    std::vector<std::string>& bases = tables.exceptions[part][std::string(parts[0])];
    for (std::size_t index = 1; index < parts.size(); ++index) bases.emplace_back(parts[index]);
  }
}

// NLTK's _morphy: the base forms of `form` (lower case) that are lemmas of part `part`.
std::vector<std::string> base_forms(const std::string& form, std::size_t part, const WordNet::Tables& tables) {
  std::vector<std::string> candidates{form};
  if (const auto found = tables.exceptions[part].find(form); found != tables.exceptions[part].end()) {
    candidates.insert(candidates.end(), found->second.begin(), found->second.end());
  } else {
    for (const auto& [ending, replacement] : detachment_rules()[part])
      if (form.size() > ending.size() && form.ends_with(ending))
        candidates.push_back(form.substr(0, form.size() - ending.size()) + std::string(replacement));
  }
  std::vector<std::string> result;
  for (const std::string& candidate : candidates)
    if (tables.synsets_of[part].contains(candidate) && std::find(result.begin(), result.end(), candidate) == result.end())
      result.push_back(candidate);
  return result;
}

}  // namespace

WordNet WordNet::load(const std::string& directory) {
  auto tables = std::make_unique<Tables>();
  const std::filesystem::path folder(directory);
  for (std::size_t part = 0; part < Tables::part_count; ++part) {
    read_data_file(folder / fmt::format("data.{}", part_names[part]), part, *tables);
    read_exception_file(folder / fmt::format("{}.exc", part_names[part]), part, *tables);
  }
  return WordNet(std::move(tables));
}

std::vector<std::string> WordNet::synonyms(std::string_view word) const {
  const std::string form = lower(word);
  std::vector<std::string> result;
  for (std::size_t part = 0; part < Tables::part_count; ++part)
    for (const std::string& base : base_forms(form, part, *tables_))
      for (std::uint32_t synset : tables_->synsets_of[part].at(base))
        for (const std::string& name : tables_->synset_names[synset])
          if (name != word) {
            std::string spaced = name;
            std::replace(spaced.begin(), spaced.end(), '_', ' ');
            result.push_back(std::move(spaced));
          }
  return result;
}

std::size_t WordNet::synset_count() const { return tables_->synset_names.size(); }
std::size_t WordNet::lemma_count() const {
  std::size_t count = 0;
  for (const auto& map : tables_->synsets_of) count += map.size();
  return count;
}

WordNet::WordNet(std::unique_ptr<Tables> tables) : tables_(std::move(tables)) {}
WordNet::WordNet(WordNet&&) noexcept = default;
WordNet& WordNet::operator=(WordNet&&) noexcept = default;
WordNet::~WordNet() = default;

}  // namespace sf
