// safetensors writer, reader and load_into. The format, the metadata layout and the checksum
// are described in sf/nn/safetensors.hpp.
#include "sf/nn/safetensors.hpp"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <limits>
#include <set>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "safetensors_io.hpp"

namespace sf {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is copied as is; a big-endian host needs byte swapping");

// The reference implementation refuses headers over 100 MB; so do we, before allocating.
constexpr std::uint64_t kMaximumHeaderBytes = 100'000'000;
constexpr std::string_view kMetadataKey = "__metadata__";
constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kChecksumKey = "sf_checksum";
constexpr std::string_view kJsonKeysKey = "sf_json_keys";
constexpr std::string_view kChecksumPrefix = "crc32:";

bool is_reserved_metadata_key(std::string_view key) {
  return key == kFormatKey || key == kChecksumKey || key == kJsonKeysKey;
}

// The dtypes this reader understands: F32 and F64 load as themselves, F16 and BF16 (reference
// checkpoints are often published in them) are widened to float32.
struct StoredType {
  std::string_view name;
  std::uint64_t bytes;
  DType loaded_as;
};
constexpr StoredType kStoredTypes[] = {
    {"F32", 4, DType::Float32}, {"F64", 8, DType::Float64}, {"F16", 2, DType::Float32}, {"BF16", 2, DType::Float32}};

const StoredType* find_stored_type(std::string_view name) {
  for (const StoredType& type : kStoredTypes)
    if (type.name == name) return &type;
  return nullptr;
}

std::string_view stored_type_name(DType dtype) { return dtype == DType::Float32 ? "F32" : "F64"; }

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Normal numbers rebias the
// exponent to float's 127 (adding 112); subnormals are mantissa * 2^-24.
float half_to_float(std::uint16_t bits) {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  const std::uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent != 0) return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
  const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);  // zero or subnormal
  return sign != 0 ? -magnitude : magnitude;
}

// bfloat16 is the upper half of a float32.
float bfloat16_to_float(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

// zlib's CRC-32, fed in pieces (zlib takes at most 4 GiB per call).
class Crc32 {
 public:
  void update(const void* data, std::uint64_t bytes) {
    const auto* cursor = static_cast<const Bytef*>(data);
    while (bytes > 0) {
      const auto chunk = static_cast<uInt>(std::min<std::uint64_t>(bytes, std::uint64_t{1} << 30));
      value_ = crc32(value_, cursor, chunk);
      cursor += chunk;
      bytes -= chunk;
    }
  }
  void update_field(std::string_view text) {
    update(text.data(), text.size());
    const char separator = '\0';
    update(&separator, 1);
  }
  std::string text() const { return fmt::format("{}{:08x}", kChecksumPrefix, value_); }

 private:
  uLong value_ = crc32(0L, Z_NULL, 0);
};

// Parts 1 and 2 of the checksum (see the header): the tensor table and the metadata.
void checksum_table(Crc32& crc, const std::vector<SafetensorsEntry>& entries,
                    const std::map<std::string, std::string>& raw_metadata) {
  for (const SafetensorsEntry& entry : entries) {
    crc.update_field(entry.name);
    crc.update_field(entry.dtype);
    crc.update_field(fmt::format("{}", fmt::join(entry.shape, ",")));
  }
  for (const auto& [key, value] : raw_metadata) {  // std::map: ascending byte order
    if (key == kChecksumKey) continue;
    crc.update_field(key);
    crc.update_field(value);
  }
}

// ---- writing ------------------------------------------------------------------------------

// The user's metadata as the format's string map, plus the reserved entries except the checksum.
std::map<std::string, std::string> encode_metadata(const nlohmann::json& metadata, const std::string& context) {
  if (!metadata.is_null() && !metadata.is_object())
    fail("{}: metadata must be a JSON object, got a JSON {}", context, metadata.type_name());
  std::map<std::string, std::string> raw;
  nlohmann::json json_keys = nlohmann::json::array();
  if (metadata.is_object()) {
    for (const auto& [key, value] : metadata.items()) {
      if (is_reserved_metadata_key(key))
        fail("{}: metadata key \"{}\" is reserved by the file format (format, sf_checksum, sf_json_keys)", context,
             key);
      if (value.is_string()) {
        raw[key] = value.get<std::string>();
      } else {
        raw[key] = value.dump();
        json_keys.push_back(key);
      }
    }
  }
  raw[std::string(kFormatKey)] = "pt";
  raw[std::string(kJsonKeysKey)] = json_keys.dump();
  return raw;
}

// ---- reading ------------------------------------------------------------------------------

// Text for an error message, cut short: a hostile header may hold huge values.
std::string shorten(std::string text) {
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

// A JSON value for an error message. Arrays and objects are only described: dump() recurses,
// and a hostile header may nest millions deep (the parser itself does not recurse).
std::string excerpt(const nlohmann::json& value) {
  if (value.is_structured()) return fmt::format("a JSON {} of {} elements", value.type_name(), value.size());
  return shorten(value.dump());
}

// A non-negative JSON integer, or an error naming what it is.
std::uint64_t non_negative_integer(const nlohmann::json& value, const std::string& context, std::string_view what) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer()) fail("{}: {} is negative ({})", context, what, value.get<std::int64_t>());
  fail("{}: {} is not an integer ({})", context, what, excerpt(value));
}

SafetensorsEntry parse_entry(const std::string& name, const nlohmann::json& value, const std::string& context) {
  const std::string where = fmt::format("{}: tensor '{}'", context, name);
  if (!value.is_object()) fail("{}: entry is a JSON {}, not an object", where, value.type_name());
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!value.contains(field)) fail("{}: missing \"{}\"", where, field);
  SafetensorsEntry entry;
  entry.name = name;

  const nlohmann::json& dtype = value["dtype"];
  if (!dtype.is_string()) fail("{}: \"dtype\" is not a string ({})", where, excerpt(dtype));
  entry.dtype = dtype.get<std::string>();
  const StoredType* type = find_stored_type(entry.dtype);
  if (type == nullptr)
    fail("{}: unsupported dtype \"{}\" (supported: F32, F64; F16 and BF16 are converted to float32)", where,
         entry.dtype);

  const nlohmann::json& shape = value["shape"];
  if (!shape.is_array()) fail("{}: \"shape\" is not an array ({})", where, excerpt(shape));
  if (shape.size() > static_cast<std::size_t>(Tensor::kMaxDims))
    fail("{}: shape has {} dimensions, at most {} are supported", where, shape.size(), Tensor::kMaxDims);
  // The product of the non-zero extents bounds every stride; checking it for overflow keeps
  // the shape safe for contiguous_strides even when some extent is 0.
  std::uint64_t bound = type->bytes;
  for (const nlohmann::json& extent_value : shape) {
    const std::uint64_t extent = non_negative_integer(extent_value, where, "a shape dimension");
    if (extent > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        __builtin_mul_overflow(bound, std::max<std::uint64_t>(extent, 1), &bound) ||
        bound > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail("{}: shape is too large: dimension {} ({}) overflows the byte count", where, entry.shape.size(), extent);
    entry.shape.push_back(static_cast<std::int64_t>(extent));
  }

  const nlohmann::json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    fail("{}: \"data_offsets\" is not an array [begin, end] ({})", where, excerpt(offsets));
  entry.begin = non_negative_integer(offsets[0], where, "data_offsets begin");
  entry.end = non_negative_integer(offsets[1], where, "data_offsets end");
  if (entry.end < entry.begin) fail("{}: data_offsets [{}, {}] end before they begin", where, entry.begin, entry.end);
  const std::uint64_t needed = static_cast<std::uint64_t>(shape_numel(entry.shape)) * type->bytes;
  if (entry.end - entry.begin != needed)
    fail("{}: data_offsets [{}, {}] hold {} bytes but {} {} needs {} bytes", where, entry.begin, entry.end,
         entry.end - entry.begin, entry.dtype, shape_string(entry.shape), needed);
  return entry;
}

nlohmann::json decode_metadata(const std::map<std::string, std::string>& raw, const std::string& context) {
  std::set<std::string> json_keys;
  if (auto found = raw.find(std::string(kJsonKeysKey)); found != raw.end()) {
    const nlohmann::json keys = nlohmann::json::parse(found->second, nullptr, /*allow_exceptions=*/false);
    if (!keys.is_array() || !std::all_of(keys.begin(), keys.end(), [](const auto& key) { return key.is_string(); }))
      fail("{}: __metadata__ \"sf_json_keys\" is not a JSON array of strings: {}", context, shorten(found->second));
    for (const auto& key : keys) json_keys.insert(key.get<std::string>());
  }
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto& [key, value] : raw) {
    if (is_reserved_metadata_key(key)) continue;
    if (json_keys.count(key) == 0) {
      metadata[key] = value;
      continue;
    }
    nlohmann::json decoded = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
    if (decoded.is_discarded())
      fail("{}: __metadata__ \"{}\" is listed in sf_json_keys but is not valid JSON: {}", context, key,
           shorten(value));
    metadata[key] = std::move(decoded);
  }
  for (const std::string& key : json_keys)
    if (raw.count(key) == 0) fail("{}: __metadata__ \"sf_json_keys\" lists \"{}\", which is absent", context, key);
  return metadata;
}

SafetensorsHeader parse_header(safetensors_io::InputFile& file, const std::string& context) {
  const std::uint64_t file_size = file.size();
  if (file_size < 8)
    fail("{}: the file is {} bytes, shorter than the 8-byte header length (truncated or not safetensors)", context,
         file_size);
  std::uint64_t header_length = 0;
  file.read(&header_length, 8, 0);  // little-endian, as is this host
  if (header_length > kMaximumHeaderBytes)
    fail("{}: header length {} exceeds the {}-byte limit (corrupt or not a safetensors file)", context,
         header_length, kMaximumHeaderBytes);
  if (header_length > file_size - 8)
    fail("{}: header length {} is larger than the {} bytes after it (truncated or corrupt file)", context,
         header_length, file_size - 8);
  std::string text(header_length, '\0');
  file.read(text.data(), header_length, 8);

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {  // syntax, or a number too large for any type
    fail("{}: header is not valid JSON: {}", context, error.what());
  }
  if (!header.is_object()) fail("{}: header is a JSON {}, not an object", context, header.type_name());

  SafetensorsHeader result;
  result.data_start = 8 + header_length;
  result.data_size = file_size - result.data_start;
  for (const auto& [name, value] : header.items()) {
    if (name != kMetadataKey) {
      result.entries.push_back(parse_entry(name, value, context));
      continue;
    }
    if (value.is_null()) continue;
    if (!value.is_object()) fail("{}: __metadata__ is a JSON {}, not an object", context, value.type_name());
    for (const auto& [key, text_value] : value.items()) {
      if (!text_value.is_string())
        fail("{}: __metadata__ \"{}\" is a JSON {}; the format requires strings", context, key,
             text_value.type_name());
      result.raw_metadata[key] = text_value.get<std::string>();
    }
  }

  // The tensors must tile [0, data_size) in order, without holes or overlaps.
  std::sort(result.entries.begin(), result.entries.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t covered = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry& entry : result.entries) {
    if (entry.begin < covered)
      fail("{}: tensor '{}' at data_offsets [{}, {}] overlaps tensor '{}' at [{}, {}]", context, entry.name,
           entry.begin, entry.end, previous->name, previous->begin, previous->end);
    if (entry.begin > covered)
      fail("{}: bytes [{}, {}) of the data section belong to no tensor (before tensor '{}')", context, covered,
           entry.begin, entry.name);
    covered = entry.end;
    previous = &entry;
  }
  if (covered > result.data_size)
    fail("{}: truncated: the header describes {} bytes of tensor data but only {} bytes follow the header",
         context, covered, result.data_size);
  if (covered < result.data_size)
    fail("{}: {} bytes of data after the last tensor belong to no tensor", context, result.data_size - covered);
  result.metadata = decode_metadata(result.raw_metadata, context);
  return result;
}

std::string reading_context(const std::string& path) { return fmt::format("safetensors '{}'", path); }

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors, const nlohmann::json& metadata) {
  const std::string context = fmt::format("save_safetensors '{}'", path);
  std::vector<SafetensorsEntry> entries;
  std::vector<Tensor> contiguous_tensors;
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name.empty()) fail("{}: a tensor has an empty name", context);
    if (name == kMetadataKey) fail("{}: \"__metadata__\" cannot name a tensor", context);
    if (!names.insert(name).second) fail("{}: tensor name '{}' appears twice", context, name);
    if (!tensor.defined()) fail("{}: tensor '{}' is undefined", context, name);
    Tensor contiguous = tensor.contiguous();
    const auto bytes = static_cast<std::uint64_t>(contiguous.numel()) * contiguous.element_size();
    entries.push_back({name, std::string(stored_type_name(tensor.dtype())), tensor.shape(), offset, offset + bytes});
    contiguous_tensors.push_back(std::move(contiguous));
    offset += bytes;
  }

  std::string header_text;
  try {
    std::map<std::string, std::string> raw_metadata = encode_metadata(metadata, context);
    Crc32 crc;
    checksum_table(crc, entries, raw_metadata);
    for (std::size_t index = 0; index < entries.size(); ++index)
      crc.update(contiguous_tensors[index].raw_data(), entries[index].end - entries[index].begin);
    raw_metadata[std::string(kChecksumKey)] = crc.text();

    // ordered_json keeps the caller's tensor order in the header, easier to read by eye.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    for (const SafetensorsEntry& entry : entries)
      header[entry.name] = {{"dtype", entry.dtype}, {"shape", entry.shape}, {"data_offsets", {entry.begin, entry.end}}};
    header[std::string(kMetadataKey)] = raw_metadata;
    header_text = header.dump();
  } catch (const nlohmann::json::exception& error) {  // e.g. a name that is not valid UTF-8
    fail("{}: cannot encode the header: {}", context, error.what());
  }
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // data starts 8-byte aligned

  safetensors_io::AtomicFileWriter file(path, context);
  const std::uint64_t header_length = header_text.size();
  file.write(&header_length, 8);
  file.write(header_text.data(), header_text.size());
  for (std::size_t index = 0; index < entries.size(); ++index)
    file.write(contiguous_tensors[index].raw_data(), entries[index].end - entries[index].begin);
  file.commit();
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
  const std::string context = reading_context(path);
  safetensors_io::InputFile file(path, context);
  return parse_header(file, context);
}

SafetensorsFile load_safetensors(const std::string& path) {
  const std::string context = reading_context(path);
  safetensors_io::InputFile file(path, context);
  SafetensorsHeader header = parse_header(file, context);

  Crc32 crc;
  checksum_table(crc, header.entries, header.raw_metadata);
  SafetensorsFile result;
  std::vector<std::uint16_t> half_buffer;
  for (const SafetensorsEntry& entry : header.entries) {
    const StoredType& type = *find_stored_type(entry.dtype);
    Tensor tensor = Tensor::empty(entry.shape, type.loaded_as);
    const std::uint64_t bytes = entry.end - entry.begin;
    const std::uint64_t position = header.data_start + entry.begin;
    if (type.bytes == dtype_size(type.loaded_as)) {  // F32, F64: straight into the tensor
      file.read(tensor.raw_data(), bytes, position);
      crc.update(tensor.raw_data(), bytes);
    } else {  // F16, BF16: widen to float32
      half_buffer.resize(bytes / 2);
      file.read(half_buffer.data(), bytes, position);
      crc.update(half_buffer.data(), bytes);
      float* out = tensor.data<float>();
      const bool is_bfloat16 = entry.dtype == "BF16";
      for (std::size_t index = 0; index < half_buffer.size(); ++index)
        out[index] = is_bfloat16 ? bfloat16_to_float(half_buffer[index]) : half_to_float(half_buffer[index]);
    }
    result.tensors.emplace_back(entry.name, std::move(tensor));
  }

  if (auto stored = header.raw_metadata.find(std::string(kChecksumKey)); stored != header.raw_metadata.end()) {
    const std::string& expected = stored->second;
    if (expected.rfind(kChecksumPrefix, 0) != 0 || expected.size() != kChecksumPrefix.size() + 8)
      fail("{}: unsupported checksum \"{}\" (expected crc32:<8 hex digits>)", context, shorten(expected));
    std::string normalized = expected;
    std::transform(normalized.begin(), normalized.end(), normalized.begin(),
                   [](unsigned char character) { return static_cast<char>(std::tolower(character)); });
    if (normalized != crc.text())
      fail("{}: checksum mismatch: the file says {} but its contents give {} (the file is corrupt)", context,
           expected, crc.text());
  }
  result.raw_metadata = std::move(header.raw_metadata);
  result.metadata = std::move(header.metadata);
  return result;
}

LoadReport load_into(const SafetensorsFile& file, const NamedTensors& destinations, bool strict,
                     const std::string& path_for_messages) {
  const std::string context = fmt::format("load_into '{}'", path_for_messages);
  std::map<std::string, const Tensor*> sources;
  for (const auto& [name, tensor] : file.tensors) sources.emplace(name, &tensor);

  LoadReport report;
  std::vector<std::string> shape_mismatches;
  std::set<std::string> destination_names;
  for (const auto& [name, destination] : destinations) {
    if (!destination_names.insert(name).second) fail("{}: destination '{}' appears twice", context, name);
    if (!destination.defined()) fail("{}: destination '{}' is undefined", context, name);
    auto found = sources.find(name);
    if (found == sources.end()) {
      report.missing.push_back(name);
    } else if (found->second->shape() != destination.shape()) {
      shape_mismatches.push_back(fmt::format("'{}': checkpoint {} vs destination {}", name,
                                             shape_string(found->second->shape()), shape_string(destination.shape())));
    }
  }
  for (const auto& [name, tensor] : file.tensors)
    if (destination_names.count(name) == 0) report.unexpected.push_back(name);

  std::vector<std::string> problems;
  if (strict && !report.missing.empty())
    problems.push_back(fmt::format("missing keys ({}): {}", report.missing.size(), fmt::join(report.missing, ", ")));
  if (strict && !report.unexpected.empty())
    problems.push_back(
        fmt::format("unexpected keys ({}): {}", report.unexpected.size(), fmt::join(report.unexpected, ", ")));
  if (!shape_mismatches.empty())
    problems.push_back(fmt::format("shape mismatch for {}", fmt::join(shape_mismatches, ", ")));
  if (!problems.empty()) fail("{}: {}", context, fmt::join(problems, "; "));

  for (const auto& [name, destination] : destinations) {
    auto found = sources.find(name);
    if (found == sources.end()) continue;
    Tensor target = destination;  // shares the destination's storage
    target.copy_from(*found->second);
  }
  return report;
}

}  // namespace sf
