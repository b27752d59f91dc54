// Tokenizing datasets and caching the result; the file layout is in token_cache.hpp.
#include "sf/swarmformer/token_cache.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sf/swarmformer/hashing.hpp"
#include "sf/core/error.hpp"
#include "sf/core/parallel.hpp"
#include "sf/nn/atomic_file.hpp"

namespace sf {
namespace {

// The payload is the in-memory int32 arrays copied as bytes, which is the file's little-endian
// layout only on a little-endian host (x86-64, AArch64 Linux).
static_assert(std::endian::native == std::endian::little, "the token cache layout assumes a little-endian host");

constexpr char cache_magic[8] = {'S', 'F', 'T', 'O', 'K', 'E', 'N', 'S'};
constexpr std::uint32_t cache_version = 2;
constexpr std::uint32_t header_size = 72;

struct Header {
  std::uint64_t vocabulary_hash, dataset_hash;
  std::int64_t seq_len, count, class_count;
  std::uint64_t payload_size, payload_checksum;
};

template <class T>
void put(std::string& bytes, T value) {
  bytes.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <class T>
T get(const std::string& bytes, std::size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

std::string serialize_payload(const TokenizedSplit& split) {
  std::string payload;
  payload.reserve(split.class_names.size() * 16 + (split.labels.size() + split.ids.size()) * sizeof(std::int32_t));
  for (const std::string& name : split.class_names) {
    put(payload, static_cast<std::uint32_t>(name.size()));
    payload += name;
  }
  payload.append(reinterpret_cast<const char*>(split.labels.data()), split.labels.size() * sizeof(std::int32_t));
  payload.append(reinterpret_cast<const char*>(split.row_offsets.data()), split.row_offsets.size() * sizeof(std::int64_t));
  payload.append(reinterpret_cast<const char*>(split.ids.data()), split.ids.size() * sizeof(std::int32_t));
  return payload;
}

std::string serialize(const TokenizedSplit& split, const Header& keys) {
  const std::string payload = serialize_payload(split);
  std::string bytes(cache_magic, sizeof(cache_magic));
  put(bytes, cache_version);
  put(bytes, header_size);
  put(bytes, keys.vocabulary_hash);
  put(bytes, keys.seq_len);
  put(bytes, keys.dataset_hash);
  put(bytes, split.size());
  put(bytes, static_cast<std::int64_t>(split.class_names.size()));
  put(bytes, static_cast<std::uint64_t>(payload.size()));
  put(bytes, detail::fnv1a(payload));
  return bytes + payload;
}

// Parses and checks a cache file against the expected keys and dataset. Returns an empty string
// and fills `split` when the file is good, otherwise the reason it is not.
std::string parse(const std::string& bytes, const Header& expected, const TextDataset& dataset, TokenizedSplit& split) {
  if (bytes.size() < header_size) return "truncated (shorter than its header)";
  if (std::memcmp(bytes.data(), cache_magic, sizeof(cache_magic)) != 0) return "not a token cache file (bad magic)";
  if (get<std::uint32_t>(bytes, 8) != cache_version) return "of another format version";
  if (get<std::uint32_t>(bytes, 12) != header_size) return "corrupt (bad header size)";
  if (get<std::uint64_t>(bytes, 16) != expected.vocabulary_hash) return "stale (made with another vocabulary)";
  if (get<std::int64_t>(bytes, 24) != expected.seq_len) return "stale (made for another seq_len)";
  if (get<std::uint64_t>(bytes, 32) != expected.dataset_hash) return "stale (made from other texts or labels)";
  const auto count = get<std::int64_t>(bytes, 40);
  const auto class_count = get<std::int64_t>(bytes, 48);
  const auto payload_size = get<std::uint64_t>(bytes, 56);
  if (count != dataset.size() || class_count != static_cast<std::int64_t>(dataset.class_names.size()))
    return "stale (another number of examples or classes)";
  if (payload_size != bytes.size() - header_size) return "truncated or padded (payload size differs from the file)";
  const std::string_view payload(bytes.data() + header_size, bytes.size() - header_size);
  if (detail::fnv1a(payload) != get<std::uint64_t>(bytes, 64)) return "corrupt (payload checksum mismatch)";

  std::size_t offset = header_size;
  split.class_names.clear();
  for (std::int64_t index = 0; index < class_count; ++index) {
    if (offset + 4 > bytes.size()) return "corrupt (class names run past the end)";
    const auto length = get<std::uint32_t>(bytes, offset);
    offset += 4;
    if (offset + length > bytes.size()) return "corrupt (class names run past the end)";
    split.class_names.emplace_back(bytes.data() + offset, length);
    offset += length;
  }
  const auto fixed = static_cast<std::uint64_t>(count) * 4 + static_cast<std::uint64_t>(count + 1) * 8;
  if (bytes.size() - offset < fixed) return "corrupt (array sizes differ from the header)";
  split.seq_len = expected.seq_len;
  split.labels.resize(static_cast<std::size_t>(count));
  split.row_offsets.resize(static_cast<std::size_t>(count + 1));
  std::memcpy(split.labels.data(), bytes.data() + offset, split.labels.size() * 4);
  offset += split.labels.size() * 4;
  std::memcpy(split.row_offsets.data(), bytes.data() + offset, split.row_offsets.size() * 8);
  offset += split.row_offsets.size() * 8;
  if (split.row_offsets.front() != 0 || !std::is_sorted(split.row_offsets.begin(), split.row_offsets.end()))
    return "corrupt (row offsets out of order)";
  const auto rows = static_cast<std::uint64_t>(split.row_offsets.back());
  if (bytes.size() - offset != rows * static_cast<std::uint64_t>(expected.seq_len) * 4)
    return "corrupt (array sizes differ from the header)";
  split.ids.resize(static_cast<std::size_t>(rows * static_cast<std::uint64_t>(expected.seq_len)));
  std::memcpy(split.ids.data(), bytes.data() + offset, split.ids.size() * 4);
  // Belt and braces: the dataset hash already covers these.
  if (split.labels != dataset.labels || split.class_names != dataset.class_names) return "stale (labels differ)";
  return {};
}

}  // namespace

Framing input_framing(const SwarmFormerConfig& config, bool evaluation) {
  return {.truncation = config.truncation, .head = config.truncation_head, .windows = evaluation ? config.eval_windows : 1};
}

TokenizedSplit tokenize_dataset(const TextDataset& dataset, const WordPieceTokenizer& tokenizer, std::int64_t seq_len,
                                const Framing& framing) {
  SF_CHECK(seq_len >= 2, "tokenize_dataset: seq_len must be at least 2, got {}", seq_len);
  SF_CHECK(dataset.texts.size() == dataset.labels.size(), "tokenize_dataset: {} texts but {} labels", dataset.texts.size(),
           dataset.labels.size());
  TokenizedSplit split;
  split.seq_len = seq_len;
  split.labels = dataset.labels;
  split.class_names = dataset.class_names;
  // Each example frames into its own buffer; the buffers are then joined in order.
  std::vector<std::vector<std::int32_t>> framed(dataset.texts.size());
  parallel::parallel_for(0, dataset.size(), 16, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      try {
        tokenizer.frame(dataset.texts[static_cast<std::size_t>(row)], seq_len, framing, framed[static_cast<std::size_t>(row)]);
      } catch (const Error& error) {
        fail("example {}: {}", row, error.what());
      }
    }
  });
  split.row_offsets.assign(1, 0);
  std::size_t total = 0;
  for (const auto& rows : framed) {
    total += rows.size();
    split.row_offsets.push_back(static_cast<std::int64_t>(total) / seq_len);
  }
  split.ids.reserve(total);
  for (auto& rows : framed) {
    split.ids.insert(split.ids.end(), rows.begin(), rows.end());
    std::vector<std::int32_t>().swap(rows);
  }
  return split;
}

std::uint64_t dataset_hash(const TextDataset& dataset) {
  std::uint64_t hash = detail::fnv1a_integer(dataset.class_names.size(), detail::fnv1a_offset_basis);
  for (const std::string& name : dataset.class_names) hash = detail::fnv1a(name, detail::fnv1a_integer(name.size(), hash));
  hash = detail::fnv1a_integer(dataset.texts.size(), hash);
  for (std::size_t row = 0; row < dataset.texts.size(); ++row) {
    hash = detail::fnv1a(dataset.texts[row], detail::fnv1a_integer(dataset.texts[row].size(), hash));
    hash = detail::fnv1a_integer(row < dataset.labels.size() ? static_cast<std::uint64_t>(dataset.labels[row]) : ~0ull, hash);
  }
  return hash;
}

std::string token_cache_path(const std::string& cache_dir, std::uint64_t vocabulary_hash, std::int64_t seq_len,
                             std::uint64_t dataset_hash) {
  return (std::filesystem::path(cache_dir) / fmt::format("tokens-{:016x}-L{}-{:016x}.bin", vocabulary_hash, seq_len, dataset_hash))
      .string();
}

TokenizedSplit tokenize_cached(const TextDataset& dataset, const WordPieceTokenizer& tokenizer, std::int64_t seq_len,
                               const std::string& cache_dir, CacheOutcome* outcome, const Framing& framing,
                               const MessageSink& messages) {
  SF_CHECK(seq_len >= 2, "tokenize_cached: seq_len must be at least 2, got {}", seq_len);
  Header keys{};
  keys.vocabulary_hash = tokenizer.vocabulary_hash();
  // The default framing keeps the plain dataset hash; any other is mixed in.
  keys.dataset_hash = dataset_hash(dataset);
  if (framing.key() != Framing{}.key()) keys.dataset_hash = detail::fnv1a(framing.key(), keys.dataset_hash);
  keys.seq_len = seq_len;
  const std::string path = token_cache_path(cache_dir, keys.vocabulary_hash, seq_len, keys.dataset_hash);

  CacheOutcome result = CacheOutcome::created;
  if (std::ifstream stream{path, std::ios::binary}) {
    std::ostringstream content;
    content << stream.rdbuf();
    TokenizedSplit split;
    const std::string problem = stream.bad() ? std::string("unreadable") : parse(content.str(), keys, dataset, split);
    if (problem.empty()) {
      if (outcome) *outcome = CacheOutcome::loaded;
      return split;
    }
    tell(messages, fmt::format("warning: token cache {} is {}; rebuilding it", path, problem));
    result = CacheOutcome::rebuilt;
  }
  TokenizedSplit split = tokenize_dataset(dataset, tokenizer, seq_len, framing);
  std::error_code error;
  std::filesystem::create_directories(cache_dir, error);
  if (error) fail("token cache: cannot create folder {}: {}", cache_dir, error.message());
  nn::write_file_atomically(path, serialize(split, keys), "token cache");
  if (outcome) *outcome = result;
  return split;
}

}  // namespace sf
