// Reading (possibly gzipped) files and collecting labelled rows; shared by every loader.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <set>

#include "dataset_internal.hpp"
#include "sf/core/error.hpp"
#include "utf8.hpp"

namespace sf::detail {

// ---- InputFile ---------------------------------------------------------------------------------

InputFile::InputFile(const std::string& path) : path_(path), input_(1 << 16) {
  file_ = std::fopen(path.c_str(), "rb");
  if (!file_) fail("{}: cannot open: {}", path, std::strerror(errno));
  // Peek at the first two bytes for the gzip magic, then rewind.
  unsigned char magic[2] = {0, 0};
  const std::size_t count = std::fread(magic, 1, 2, file_);
  gzip_ = count == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  std::rewind(file_);
  if (gzip_) {
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) fail("{}: cannot initialize zlib", path);
    stream_open_ = true;
  }
}

InputFile::~InputFile() {
  if (stream_open_) inflateEnd(&stream_);
  if (file_) std::fclose(file_);
}

std::size_t InputFile::read_raw(unsigned char* buffer, std::size_t size) {
  const std::size_t count = std::fread(buffer, 1, size, file_);
  if (count < size && std::ferror(file_)) fail("{}: read error: {}", path_, std::strerror(errno));
  return count;
}

bool InputFile::refill() {
  if (stream_.avail_in > 0) return true;
  const std::size_t count = read_raw(input_.data(), input_.size());
  stream_.next_in = input_.data();
  stream_.avail_in = static_cast<uInt>(count);
  return count > 0;
}

std::size_t InputFile::read(char* buffer, std::size_t size) {
  if (!gzip_) return read_raw(reinterpret_cast<unsigned char*>(buffer), size);
  std::size_t total = 0;
  while (total < size && !finished_) {
    if (!refill())
      fail("{}: truncated gzip file: the compressed data ends early (after {} uncompressed bytes)", path_, produced_);
    stream_.next_out = reinterpret_cast<Bytef*>(buffer + total);
    stream_.avail_out = static_cast<uInt>(std::min<std::size_t>(size - total, 1u << 30));
    const uInt before = stream_.avail_out;
    const int status = inflate(&stream_, Z_NO_FLUSH);
    const std::size_t produced = before - stream_.avail_out;
    total += produced;
    produced_ += produced;
    if (status == Z_STREAM_END) {
      // Another member may follow (concatenated gzip files are one stream); anything else after
      // the end is ignored, like gzip's trailing-garbage rule.
      if (!refill() || stream_.avail_in < 2 || stream_.next_in[0] != 0x1f || stream_.next_in[1] != 0x8b) {
        finished_ = true;
      } else {
        inflateReset(&stream_);
      }
    } else if (status == Z_DATA_ERROR || status == Z_NEED_DICT) {
      fail("{}: corrupt gzip data after {} uncompressed bytes: {}", path_, produced_,
           stream_.msg ? stream_.msg : "invalid compressed data");
    } else if (status == Z_MEM_ERROR) {
      fail("{}: out of memory while decompressing", path_);
    } else if (status != Z_OK && status != Z_BUF_ERROR) {
      fail("{}: zlib error {} while decompressing", path_, status);
    }
  }
  return total;
}

void InputFile::read_exactly(char* buffer, std::size_t size, std::string_view what) {
  if (read(buffer, size) != size) fail("{}: truncated file: the data ends inside {}", path_, what);
}

std::string read_file(const std::string& path) {
  InputFile input(path);
  std::string content;
  std::size_t size = 0;
  for (;;) {
    content.resize(size + (1 << 20));
    const std::size_t count = input.read(content.data() + size, 1 << 20);
    size += count;
    if (count < (1 << 20)) break;
  }
  content.resize(size);
  return content;
}

// ---- RowCollector ------------------------------------------------------------------------------

namespace {

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char character) {
    return character == ' ' || character == '\t' || character == '\n' || character == '\r' || character == '\v' ||
           character == '\f';
  });
}

std::string join(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined;
}

}  // namespace

RowCollector::RowCollector(std::string source, const std::vector<std::string>& known_classes)
    : source_(std::move(source)), known_classes_(known_classes) {}

void RowCollector::add(std::string text, const RawLabel& label, const std::string& location, std::string_view name_hint) {
  if (const std::size_t bad = utf8::first_invalid(text); bad != utf8::npos)
    fail("{}: invalid UTF-8 at byte {} of the text (bytes {}); convert the file to UTF-8", location, bad,
         utf8::describe_bytes(text, bad));
  if (is_blank(text)) {
    if (skipped_++ == 0) first_skipped_ = location;
    return;
  }
  std::int32_t resolved = -1;
  if (label.number) {
    if (named_) fail("{}: label {} is a number but earlier labels are class names; use one kind", location, *label.number);
    numeric_ = true;
    const std::int64_t value = *label.number;
    if (value < 0) fail("{}: label {} is negative; labels are class indices 0, 1, ... or class names", location, value);
    if (!known_classes_.empty() && value >= static_cast<std::int64_t>(known_classes_.size()))
      fail("{}: unknown label {}: the classes are 0..{} ({})", location, value, known_classes_.size() - 1, join(known_classes_));
    // Numeric labels are class indices, so the largest one sets the number of classes (and the
    // classifier's width): a sparse id such as 88888888 is refused rather than made 88 M classes.
    constexpr std::int64_t kMaxClasses = 65536;
    if (value >= kMaxClasses)
      fail("{}: label {} is too large: numeric labels are class indices below {}; give sparse ids as names "
           "(\"label\": \"{}\")", location, value, kMaxClasses, value);
    resolved = static_cast<std::int32_t>(value);
    largest_label_ = std::max(largest_label_, value);
    if (name_hint.empty()) hints_complete_ = false;
    name_hints_.emplace_back(name_hint);
  } else {
    if (numeric_) fail("{}: label \"{}\" is a class name but earlier labels are numbers; use one kind", location, label.name);
    named_ = true;
    if (!known_classes_.empty()) {
      const auto found = std::find(known_classes_.begin(), known_classes_.end(), label.name);
      if (found == known_classes_.end())
        fail("{}: unknown label \"{}\" (the classes are: {})", location, label.name, join(known_classes_));
      resolved = static_cast<std::int32_t>(found - known_classes_.begin());
    } else {
      label_names_.push_back(label.name);
    }
  }
  dataset_.texts.push_back(std::move(text));
  dataset_.labels.push_back(resolved);
}

TextDataset RowCollector::finish() {
  if (skipped_ > 0)
    dataset_.warnings.push_back(fmt::format("warning: {}: skipped {} row{} with an empty text (the first at {})", source_,
                                            skipped_, skipped_ == 1 ? "" : "s", first_skipped_));
  if (!known_classes_.empty()) {
    dataset_.class_names = known_classes_;
  } else if (named_) {
    // Sorted, so that splits loaded separately agree on the label of each name; numerically
    // when every name is an integer ("2" before "10"), otherwise by bytes.
    const std::set<std::string> distinct(label_names_.begin(), label_names_.end());
    dataset_.class_names.assign(distinct.begin(), distinct.end());
    std::vector<std::int64_t> values;
    for (const std::string& name : dataset_.class_names) {
      std::int64_t value = 0;
      const auto result = std::from_chars(name.data(), name.data() + name.size(), value);
      if (result.ec != std::errc() || result.ptr != name.data() + name.size()) break;
      values.push_back(value);
    }
    if (values.size() == dataset_.class_names.size()) {
      std::vector<std::size_t> order(values.size());
      for (std::size_t index = 0; index < order.size(); ++index) order[index] = index;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return values[a] < values[b]; });
      std::vector<std::string> sorted;
      for (const std::size_t index : order) sorted.push_back(dataset_.class_names[index]);
      dataset_.class_names = std::move(sorted);
    }
    std::map<std::string_view, std::int32_t> index_of;
    for (std::size_t index = 0; index < dataset_.class_names.size(); ++index)
      index_of.emplace(dataset_.class_names[index], static_cast<std::int32_t>(index));
    for (std::size_t row = 0; row < label_names_.size(); ++row) dataset_.labels[row] = index_of.at(label_names_[row]);
  } else if (numeric_) {
    // Names from the rows' hints when they give every label exactly one distinct name.
    std::vector<std::string> names(static_cast<std::size_t>(largest_label_ + 1));
    bool consistent = hints_complete_;
    for (std::size_t row = 0; consistent && row < name_hints_.size(); ++row) {
      std::string& name = names[static_cast<std::size_t>(dataset_.labels[row])];
      if (name.empty()) name = name_hints_[row];
      consistent = name == name_hints_[row];
    }
    if (consistent) consistent = std::set<std::string>(names.begin(), names.end()).size() == names.size() &&
                                 std::none_of(names.begin(), names.end(), [](const std::string& n) { return n.empty(); });
    for (std::size_t index = 0; index < names.size(); ++index)
      if (!consistent) names[index] = std::to_string(index);
    dataset_.class_names = std::move(names);
  }
  return std::move(dataset_);
}

// ---- aclImdb rows ------------------------------------------------------------------------------

TextDataset aclimdb_dataset(std::vector<AclImdbFile> files, const std::string& source) {
  // <id>_<rating>.txt: sort by the numeric id (the JSONL order); names without one go last.
  const auto numeric_id = [](const std::string& name) {
    std::int64_t id = INT64_MAX;
    const auto result = std::from_chars(name.data(), name.data() + name.size(), id);
    return result.ec == std::errc() && result.ptr != name.data() ? id : INT64_MAX;
  };
  std::vector<std::pair<std::int64_t, std::size_t>> keys;
  for (std::size_t index = 0; index < files.size(); ++index) keys.emplace_back(numeric_id(files[index].name), index);
  std::sort(keys.begin(), keys.end(), [&](const auto& left, const auto& right) {
    const AclImdbFile &a = files[left.second], &b = files[right.second];
    if (a.label != b.label) return a.label < b.label;
    if (left.first != right.first) return left.first < right.first;
    return a.name < b.name;
  });
  RowCollector rows(source, {"neg", "pos"});
  for (const auto& key : keys) {
    AclImdbFile& file = files[key.second];
    rows.add(std::move(file.text), RawLabel{file.label, {}}, file.location);
  }
  return rows.finish();
}

std::string lower_case_ascii(std::string_view text) {
  std::string lower(text);
  for (char& character : lower)
    if (character >= 'A' && character <= 'Z') character = static_cast<char>(character + 32);
  return lower;
}

}  // namespace sf::detail
