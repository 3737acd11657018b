// Reader side of host/io/safetensors.h. The file is untrusted: every size and
// offset is checked against the actual file size before anything is allocated
// from it, and the tensors must tile the buffer exactly, as the format requires.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>
#include <system_error>
#include <tuple>

#include <nlohmann/json.hpp>

#include "host/io/safetensors.h"

// Every defect is reported as "malformed safetensors file '<path>': <what>".
#define ST_CHECK(cond, ...) CUMLP_CHECK(cond, "malformed safetensors file '", path, "': ", __VA_ARGS__)

namespace cumlp::io {

namespace {

// Larger headers are not produced by any real writer; refusing them bounds the
// allocation a hostile length field can cause (the Python package uses the same cap).
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

using json = nlohmann::json;

class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) fail("cannot open", errno);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail("cannot stat", errno);
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() { ::close(fd_); }

  std::uint64_t size() const { return size_; }

  void read_at(std::uint64_t offset, std::span<std::byte> out) const {
    while (!out.empty()) {
      const ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("read failed", errno);
      // The size was validated against fstat, so running short means the file shrank under us.
      if (n == 0) CUMLP_THROW("cannot read '", path_, "': file ended early (modified while reading?)");
      out = out.subspan(static_cast<std::size_t>(n));
      offset += static_cast<std::uint64_t>(n);
    }
  }

 private:
  [[noreturn]] void fail(const char* what, int err) const {
    CUMLP_THROW("cannot read '", path_, "': ", what, ": ", std::system_category().message(err));
  }

  std::string path_;
  int fd_;
  std::uint64_t size_ = 0;
};

std::optional<StDType> parse_dtype(const std::string& name) {
  for (const StDType d : {StDType::F32, StDType::F64, StDType::I32, StDType::I64, StDType::U8}) {
    if (dtype_name(d) == name) return d;
  }
  return std::nullopt;
}

// nlohmann keeps the last of duplicate keys silently; a checkpoint with two
// different "layers.0.weight" entries is ambiguous, so it is rejected instead.
json parse_header(const std::string& path, const std::string& text) {
  std::vector<std::set<std::string>> keys_per_object;
  std::optional<std::string> duplicate;
  const json::parser_callback_t track = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) keys_per_object.emplace_back();
    if (event == json::parse_event_t::object_end) keys_per_object.pop_back();
    if (event == json::parse_event_t::key && !keys_per_object.back().insert(parsed.get<std::string>()).second &&
        !duplicate) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, track);
  } catch (const json::parse_error& e) {
    CUMLP_THROW("malformed safetensors file '", path, "': header is not valid JSON: ", e.what());
  }
  ST_CHECK(!duplicate, "header repeats the key '", *duplicate, "'");
  ST_CHECK(header.is_object(), "header is not a JSON object");
  return header;
}

std::map<std::string, std::string> parse_metadata(const std::string& path, const json& meta) {
  ST_CHECK(meta.is_object(), "'__metadata__' is not an object");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : meta.items()) {
    ST_CHECK(value.is_string(), "metadata value for '", key, "' is not a string");
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

struct Entry {
  std::string name;
  StTensor tensor;  // bytes not yet read
  std::uint64_t begin = 0, end = 0;
};

// Checks one tensor's header entry against itself and the buffer size.
Entry parse_entry(const std::string& path, const std::string& name, const json& info, std::uint64_t buffer_size) {
  ST_CHECK(!name.empty(), "a tensor has an empty name");
  ST_CHECK(info.is_object(), "entry for tensor '", name, "' is not an object");
  const auto field = [&](const char* key) -> const json& {
    const auto it = info.find(key);
    ST_CHECK(it != info.end(), "tensor '", name, "' has no '", key, "'");
    return *it;
  };
  Entry e{name, {}, 0, 0};

  const json& dtype = field("dtype");
  ST_CHECK(dtype.is_string(), "tensor '", name, "': 'dtype' is not a string");
  const std::optional<StDType> parsed = parse_dtype(dtype.get<std::string>());
  ST_CHECK(parsed, "tensor '", name, "' has unknown dtype '", dtype.get<std::string>(), "'");
  e.tensor.dtype = *parsed;

  const json& shape = field("shape");
  ST_CHECK(shape.is_array(), "tensor '", name, "': 'shape' is not an array");
  std::uint64_t nbytes = dtype_size(e.tensor.dtype);
  for (const json& d : shape) {
    // nlohmann stores integers written without a sign as unsigned: that rules out
    // negatives, fractions and non-numbers in one test.
    ST_CHECK(d.is_number_unsigned(), "tensor '", name, "': shape entry ", d.dump(), " is not a non-negative integer");
    const std::uint64_t v = d.get<std::uint64_t>();
    ST_CHECK(v <= static_cast<std::uint64_t>(INT64_MAX) && !__builtin_mul_overflow(nbytes, v, &nbytes), "tensor '",
             name, "': shape ", shape.dump(), " overflows");
    e.tensor.shape.push_back(static_cast<std::int64_t>(v));
  }

  const json& offsets = field("data_offsets");
  ST_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
               offsets[1].is_number_unsigned(),
           "tensor '", name, "': 'data_offsets' is not a pair of non-negative integers");
  e.begin = offsets[0].get<std::uint64_t>();
  e.end = offsets[1].get<std::uint64_t>();
  ST_CHECK(e.begin <= e.end, "tensor '", name, "': data_offsets [", e.begin, ", ", e.end, "] begin after end");
  ST_CHECK(e.end <= buffer_size, "tensor '", name, "': data_offsets [", e.begin, ", ", e.end,
           "] run past the end of the ", buffer_size, "-byte buffer");
  ST_CHECK(e.end - e.begin == nbytes, "tensor '", name, "': data_offsets [", e.begin, ", ", e.end, "] hold ",
           e.end - e.begin, " bytes but shape ", shape.dump(), " of ", dtype_name(e.tensor.dtype), " needs ", nbytes);
  return e;
}

// The format requires the tensors to cover the buffer exactly, without overlap.
void check_tiling(const std::string& path, std::vector<Entry>& entries, std::uint64_t buffer_size) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  std::uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    ST_CHECK(e.begin >= covered, "tensors '", previous ? previous->name : "", "' and '", e.name, "' overlap");
    ST_CHECK(e.begin == covered, "bytes [", covered, ", ", e.begin, ") before tensor '", e.name,
             "' belong to no tensor");
    covered = e.end;
    previous = &e;
  }
  ST_CHECK(covered == buffer_size, "bytes [", covered, ", ", buffer_size,
           ") at the end of the buffer belong to no tensor");
}

}  // namespace

const StTensor& SafetensorsFile::at(const std::string& name) const {
  const auto it = tensors.find(name);
  CUMLP_CHECK(it != tensors.end(), "safetensors file '", path, "' has no tensor '", name, "'");
  return it->second;
}

SafetensorsFile read_safetensors(const std::string& path) {
  const InputFile file(path);
  ST_CHECK(file.size() >= 8, "file is ", file.size(), " bytes, too short for the 8-byte header length");
  std::uint64_t header_size = 0;
  file.read_at(0, std::as_writable_bytes(std::span(&header_size, 1)));
  ST_CHECK(header_size <= kMaxHeaderBytes, "header length ", header_size, " exceeds the limit of ", kMaxHeaderBytes,
           " bytes");
  ST_CHECK(header_size <= file.size() - 8, "header length ", header_size, " runs past the end of the ", file.size(),
           "-byte file");
  std::string text(header_size, '\0');
  file.read_at(8, std::as_writable_bytes(std::span(text)));
  const json header = parse_header(path, text);

  const std::uint64_t buffer_size = file.size() - 8 - header_size;
  SafetensorsFile out;
  out.path = path;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      out.metadata = parse_metadata(path, value);
    } else {
      entries.push_back(parse_entry(path, key, value, buffer_size));
    }
  }
  check_tiling(path, entries, buffer_size);

  // Only now are the sizes trusted: together they equal the bytes actually on disk.
  for (Entry& e : entries) {
    e.tensor.bytes.resize(e.end - e.begin);
    file.read_at(8 + header_size + e.begin, e.tensor.bytes);
    out.tensors.emplace(std::move(e.name), std::move(e.tensor));
  }
  return out;
}

}  // namespace cumlp::io
