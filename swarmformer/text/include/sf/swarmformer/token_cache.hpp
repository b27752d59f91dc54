// Tokenized splits and their on-disk cache.
//
// Tokenizing IMDB's 25,000 training reviews takes about a second per core; the cache makes every
// later run (and every MPI rank) skip it. A cache file is keyed by everything its content depends
// on — the vocabulary (hash of all its tokens), seq_len, and the dataset (hash of its class names,
// texts and labels) — and carries a checksum of its payload. A file whose keys or checksum do not
// match is rebuilt (and reported to the caller's MessageSink), never used.
//
// File layout (little-endian):
//   0  char[8]  magic "SFTOKENS"          40 i64 count (examples)
//   8  u32      format version (2)        48 i64 class_count
//   12 u32      header size (72)          56 u64 payload size in bytes
//   16 u64      vocabulary hash           64 u64 payload checksum (FNV-1a 64)
//   24 i64      seq_len                   72 payload: class names (u32 length + bytes each),
//   32 u64      dataset + framing hash       labels (count i32), row offsets (count + 1 i64),
//                                            ids (rows × seq_len i32)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sf/swarmformer/config.hpp"
#include "sf/swarmformer/dataset.hpp"
#include "sf/swarmformer/messages.hpp"
#include "sf/swarmformer/tokenizer.hpp"

namespace sf {

// Examples as rows of seq_len ids. With one window per example (training), example i is row i;
// with eval_windows > 1 example i owns rows [row_offsets[i], row_offsets[i + 1]).
struct TokenizedSplit {
  std::int64_t seq_len = 0;
  std::vector<std::int32_t> ids;  // rows() × seq_len, row-major: [CLS] pieces… [SEP] [PAD]…
  std::vector<std::int32_t> labels;
  std::vector<std::string> class_names;
  std::vector<std::int64_t> row_offsets;  // size() + 1 entries

  std::int64_t size() const { return static_cast<std::int64_t>(labels.size()); }
  std::int64_t rows() const { return seq_len > 0 ? static_cast<std::int64_t>(ids.size()) / seq_len : 0; }
  std::int64_t first_row(std::int64_t example) const { return row_offsets[static_cast<std::size_t>(example)]; }
  std::int64_t row_count(std::int64_t example) const { return first_row(example + 1) - first_row(example); }
};

// The framing a model's config asks for: training rows (one window) or evaluation rows
// (eval_windows windows).
Framing input_framing(const SwarmFormerConfig& config, bool evaluation);

// tokenizer.frame(text, seq_len, framing) for every text, in parallel over examples
// (sf::parallel); the rows are joined in example order, so the result does not depend on the
// thread count.
TokenizedSplit tokenize_dataset(const TextDataset& dataset, const WordPieceTokenizer& tokenizer, std::int64_t seq_len,
                                const Framing& framing = {});

// The content identity of a dataset: FNV-1a 64 over its class names, texts and labels, in order,
// each length-prefixed.
std::uint64_t dataset_hash(const TextDataset& dataset);

// <cache_dir>/tokens-<vocabulary hash>-L<seq_len>-<dataset hash>.bin (hashes in hex).
std::string token_cache_path(const std::string& cache_dir, std::uint64_t vocabulary_hash, std::int64_t seq_len,
                             std::uint64_t dataset_hash);

enum class CacheOutcome {
  loaded,   // a valid cache file was read
  created,  // there was none: tokenized and written
  rebuilt,  // there was one, but stale or corrupt (reported to `messages`): tokenized and rewritten
};

// tokenize_dataset through the cache in `cache_dir` (created if missing). The file is written
// atomically (temporary file, fsync, rename), so concurrent runs and MPI ranks never see a
// partial file. `outcome`, when given, receives what happened; a cache file that had to be rebuilt
// (stale, corrupted) is reported to `messages`.
TokenizedSplit tokenize_cached(const TextDataset& dataset, const WordPieceTokenizer& tokenizer, std::int64_t seq_len,
                               const std::string& cache_dir, CacheOutcome* outcome = nullptr, const Framing& framing = {},
                               const MessageSink& messages = {});

}  // namespace sf
