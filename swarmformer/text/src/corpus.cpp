// Unlabelled texts and the pretraining corpus; the rules are in corpus.hpp.
#include "sf/swarmformer/corpus.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_set>

#include "dataset_internal.hpp"
#include "sf/core/error.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "utf8.hpp"

namespace sf {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& text, std::string_view suffix) { return text.ends_with(suffix); }

void add_text(std::vector<std::string>& texts, std::string text, const std::string& where) {
  if (const std::size_t bad = utf8::first_invalid(text); bad != utf8::npos)
    fail("{}: invalid UTF-8 at byte {} (bytes {}); convert the file to UTF-8", where, bad, utf8::describe_bytes(text, bad));
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return;  // empty: skipped
  texts.push_back(std::move(text));
}

// Lines of a (possibly gzipped) file: JSON objects with a "text" field, or plain texts.
std::vector<std::string> read_lines(const std::string& path, bool json) {
  const std::string content = detail::read_file(path);
  std::vector<std::string> texts;
  std::size_t begin = 0;
  for (std::int64_t line_number = 1; begin < content.size(); ++line_number) {
    std::size_t end = content.find('\n', begin);
    if (end == std::string::npos) end = content.size();
    std::string line = content.substr(begin, end - begin);
    begin = end + 1;
    const std::string where = fmt::format("{}:{}", path, line_number);
    if (!json) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      add_text(texts, std::move(line), where);
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
    if (object.is_discarded() || !object.is_object()) fail("{}: not a JSON object", where);
    const auto text = object.find("text");
    if (text == object.end() || !text->is_string()) fail("{}: the object has no \"text\" string", where);
    add_text(texts, text->get<std::string>(), where);
  }
  return texts;
}

// <id>_<rating>.txt or <id>_0.txt: the numeric id, for Stanford's order.
std::int64_t numeric_id(const std::string& name) {
  std::int64_t id = INT64_MAX;
  const auto result = std::from_chars(name.data(), name.data() + name.size(), id);
  return result.ec == std::errc() && result.ptr != name.data() ? id : INT64_MAX;
}

std::vector<std::string> in_id_order(std::vector<std::pair<std::string, std::string>> files) {  // (file name, text)
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) {
    const std::int64_t left = numeric_id(a.first), right = numeric_id(b.first);
    return left != right ? left < right : a.first < b.first;
  });
  std::vector<std::string> texts;
  for (auto& [name, text] : files) add_text(texts, std::move(text), name);
  return texts;
}

std::vector<std::string> archive_unsup(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> files;
  detail::read_tar(
      path,
      [](const std::string& name) {
        return name.ends_with(".txt") && (name.find("aclImdb/train/unsup/") != std::string::npos);
      },
      [&](const std::string& name, std::string data) {
        files.emplace_back(name.substr(name.find_last_of('/') + 1), std::move(data));
      });
  return in_id_order(std::move(files));
}

std::vector<std::string> directory_unsup(const fs::path& root) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".txt") continue;
    std::ifstream stream(entry.path(), std::ios::binary);
    if (!stream) fail("{}: cannot open", entry.path().string());
    std::ostringstream content;
    content << stream.rdbuf();
    files.emplace_back(entry.path().filename().string(), content.str());
  }
  return in_id_order(std::move(files));
}

}  // namespace

std::vector<std::string> load_unlabeled_texts(const std::string& path) {
  const fs::path location(path);
  if (!fs::exists(location)) fail("{}: no such file or directory", path);
  if (fs::is_directory(location)) {
    for (const fs::path& root : {location, location / "aclImdb"})
      if (fs::is_directory(root / "train" / "unsup")) return directory_unsup(root / "train" / "unsup");
    if (fs::is_directory(location / "train") || fs::is_directory(location / "aclImdb")) return {};
    for (const char* name : {"unsup.jsonl.gz", "unsup.jsonl"})
      if (fs::is_regular_file(location / name)) return read_lines((location / name).string(), true);
    if (fs::is_regular_file(location / "aclImdb_v1.tar.gz")) return archive_unsup((location / "aclImdb_v1.tar.gz").string());
    return {};
  }
  const std::string name = detail::lower_case_ascii(location.filename().string());
  if (ends_with(name, ".tar.gz") || ends_with(name, ".tgz") || ends_with(name, ".tar")) return archive_unsup(path);
  if (ends_with(name, ".jsonl") || ends_with(name, ".jsonl.gz") || ends_with(name, ".ndjson") || ends_with(name, ".ndjson.gz"))
    return read_lines(path, true);
  if (ends_with(name, ".txt") || ends_with(name, ".txt.gz")) return read_lines(path, false);
  fail("{}: unknown corpus format (expected an aclImdb folder or archive, .jsonl[.gz] or .txt[.gz])", path);
}

PretrainingCorpus build_pretraining_corpus(const std::string& data_path, const std::vector<std::string>& extra_corpora) {
  PretrainingCorpus corpus;
  std::unordered_set<std::string> test_texts;
  for (std::string& text : load_dataset(data_path, "test").texts) test_texts.insert(std::move(text));
  nlohmann::json sources = nlohmann::json::array();
  std::int64_t removed = 0;
  auto add_source = [&](const std::string& name, std::vector<std::string> texts) {
    std::int64_t kept = 0, copies = 0;
    for (std::string& text : texts) {
      if (test_texts.contains(text)) {
        ++copies;
        continue;
      }
      corpus.texts.push_back(std::move(text));
      ++kept;
    }
    removed += copies;
    sources.push_back({{"source", name}, {"texts", kept}, {"test_copies_removed", copies}});
  };
  add_source(data_path + " (train split, labels dropped)", load_dataset(data_path, "train").texts);
  add_source(data_path + " (unlabelled)", load_unlabeled_texts(data_path));
  for (const std::string& path : extra_corpora) add_source(path, load_unlabeled_texts(path));
  corpus.description = {{"sources", sources}, {"texts", corpus.texts.size()}, {"test_copies_removed", removed}};
  return corpus;
}

}  // namespace sf
