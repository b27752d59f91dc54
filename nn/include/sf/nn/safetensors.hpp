// safetensors checkpoint files: the writer, the reader and loading into named parameters.
//
// File layout (https://github.com/huggingface/safetensors, the format Python's `safetensors`
// and `torch` tools read):
//
//   bytes [0, 8)          N, the header length, unsigned 64-bit little-endian
//   bytes [8, 8 + N)      the header: a UTF-8 JSON object, padded with spaces so 8 + N is a
//                         multiple of 8 (the data then starts 8-byte aligned)
//   bytes [8 + N, end)    the data section: raw little-endian, row-major tensor bytes
//
//   header = { "<tensor name>": {"dtype": "F32" | "F64", "shape": [d0, d1, ...],
//                                "data_offsets": [begin, end]},      // relative to 8 + N
//              ...,
//              "__metadata__": {"<key>": "<string>", ...} }
//
// The tensors tile the data section exactly: sorted by begin, each starts where the previous
// ends, the first at 0, the last at the end of the file (the reference implementation rejects
// holes, so this reader does too).
//
// __metadata__ values must be strings in the format. This writer stores
//   - each user metadata value that is a string as is, every other value (config objects,
//     step numbers, RNG state arrays) as its compact JSON text, and lists the keys it
//     JSON-encoded in "sf_json_keys" (a JSON array as a string), so the reader restores the
//     user's metadata exactly: a string "120" stays a string, a number 120 stays a number;
//   - "format": "pt", which Python's safetensors.torch expects;
//   - "sf_checksum": "crc32:<8 lower-case hex digits>", the zlib CRC-32 of, in order:
//       1. for each tensor in data order: name, 0x00, dtype, 0x00, the shape's dimensions in
//          decimal joined by ",", 0x00;
//       2. for each __metadata__ entry except sf_checksum, in ascending byte order of the key:
//          key, 0x00, value, 0x00;
//       3. the whole data section.
//     So a flipped byte anywhere in the data, a renamed tensor, a changed shape that keeps the
//     size, or an edited metadata value is detected. Files without sf_checksum (written by
//     other tools) load without the check.
//
// Writes are atomic: the file is written as "<path>.tmp-<pid>-<sequence>" in the same
// directory, fsync'ed, renamed over <path>, and the directory is fsync'ed; on any error the
// temporary file is removed. A crash leaves either the old file or the new one under <path>
// (a killed process may leave its ".tmp-" file behind; it is never read and safe to delete).
//
// Reading validates the whole header against the file size before allocating any tensor, so
// a corrupt or hostile file gives an sf::Error naming the file and the problem, never a crash
// or a huge allocation. F16 and BF16 tensors (published reference checkpoints) are converted
// to float32 on load; other dtypes are rejected with the list of supported ones.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sf/core/tensor.hpp"

namespace sf {

// Named tensors in a chosen order (the order of the file's data section when written).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes `tensors` and `metadata` (a JSON object, or null for none) to `path` atomically.
// Throws sf::Error for an undefined tensor, an empty, duplicated or "__metadata__" name, a
// metadata key the format reserves ("format", "sf_checksum", "sf_json_keys"), or an I/O error.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const nlohmann::json& metadata);

// One tensor entry of a header, validated against the file size.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;  // as stored: "F32", "F64", "F16", "BF16"
  Shape shape;
  std::uint64_t begin = 0;  // byte offsets into the data section
  std::uint64_t end = 0;
};

// The header of a file: everything but the tensor data.
struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // in data order (ascending begin)
  // Every __metadata__ entry exactly as stored (all strings), reserved keys included.
  std::map<std::string, std::string> raw_metadata;
  // The user's metadata decoded: the reserved keys removed, the keys listed in sf_json_keys
  // parsed back from JSON, all others kept as strings. An object (empty when there is none).
  nlohmann::json metadata = nlohmann::json::object();
  std::uint64_t data_start = 0;  // 8 + N
  std::uint64_t data_size = 0;   // bytes of the data section
};

struct SafetensorsFile {
  NamedTensors tensors;  // in data order; float32 or float64
  std::map<std::string, std::string> raw_metadata;
  nlohmann::json metadata = nlohmann::json::object();
};

// Reads and validates only the header (cheap even for large files: no tensor data is read).
SafetensorsHeader read_safetensors_header(const std::string& path);

// Reads a whole file, verifying sf_checksum when present.
SafetensorsFile load_safetensors(const std::string& path);

// Names that were in one set but not the other when loading with strict = false.
struct LoadReport {
  std::vector<std::string> missing;     // destinations the file has no tensor for
  std::vector<std::string> unexpected;  // file tensors no destination asked for
};

// Copies the file's tensors into existing tensors by name (converting the dtype), like
// PyTorch's load_state_dict. Every problem is collected before anything is copied, so on error
// the destinations are untouched. A shape mismatch is always an error (naming the tensor and
// both shapes). With strict = true, missing and unexpected names are errors listing them all;
// with strict = false they are skipped and returned. `path_for_messages` names the source file
// in error messages.
LoadReport load_into(const SafetensorsFile& file, const NamedTensors& destinations, bool strict,
                     const std::string& path_for_messages);

}  // namespace sf
