// Whole-file reading with transparent gunzip, so every loader accepts the
// files both as distributed (.gz) and unpacked, detected by content.
#include "host/data/read.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "host/shared/error_macros.h"

namespace cumlp::data {

namespace {

// Owns a zlib inflate state, so a throw (bad_alloc while growing) cannot leak it.
struct Inflater {
  z_stream zs{};
  bool ok = inflateInit2(&zs, 15 + 16) == Z_OK;  // largest window, gzip wrapper only
  ~Inflater() {
    if (ok) inflateEnd(&zs);
  }
};

// Half of the physical memory: an unpacked file beyond it could not be loaded
// and converted anyway.
std::size_t default_unpack_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return std::size_t{1} << 34;  // 16 GiB when the machine does not say
  return static_cast<std::size_t>(pages) / 2 * static_cast<std::size_t>(page);
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& path, std::size_t limit) {
  Inflater inflater;
  z_stream& zs = inflater.zs;
  CUMLP_CHECK(inflater.ok, path, ": cannot initialise zlib");
  std::vector<uint8_t> out;
  // The trailer's ISIZE is only a hint (it is the size mod 2^32 and unchecked
  // until the end), so start from the compressed size and grow.
  out.resize(std::min(std::max<size_t>(in.size() * 2, 1 << 16), limit));
  size_t produced = 0;
  size_t consumed = 0;
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) {
      CUMLP_CHECK(produced < limit, path, ": gzip data unpacks to more than ", limit,
                  " bytes (the limit; a corrupt or malicious file?)");
      out.resize(std::min(out.size() * 2, limit));
    }
    // zlib counts in uInt; feed at most 1 GiB per call so huge files work too.
    const size_t in_chunk = std::min<size_t>(in.size() - consumed, 1u << 30);
    const size_t out_chunk = std::min<size_t>(out.size() - produced, 1u << 30);
    zs.next_in = const_cast<Bytef*>(in.data() + consumed);
    zs.avail_in = static_cast<uInt>(in_chunk);
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(out_chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    consumed += in_chunk - zs.avail_in;
    produced += out_chunk - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are one valid gzip file: keep going.
      if (consumed == in.size()) break;
      inflateReset(&zs);
      continue;
    }
    if (rc == Z_BUF_ERROR && consumed == in.size() && zs.avail_out > 0) break;  // input ran out
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  const std::string msg = zs.msg ? zs.msg : "";
  CUMLP_CHECK(rc != Z_DATA_ERROR && rc != Z_NEED_DICT, path, ": corrupt gzip data (", msg, ")");
  CUMLP_CHECK(rc != Z_MEM_ERROR, path, ": out of memory while gunzipping");
  CUMLP_CHECK(rc == Z_STREAM_END, path, ": truncated gzip stream");
  out.resize(produced);
  return out;
}

}  // namespace

std::vector<uint8_t> read_file(const std::string& path, std::size_t max_unpacked) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  CUMLP_CHECK(f, path, ": cannot open (", std::strerror(errno), ")");
  const std::streamoff size = f.tellg();
  CUMLP_CHECK(size >= 0, path, ": cannot determine the file size");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(bytes.data()), size);
  CUMLP_CHECK(f.gcount() == size, path, ": read error after ", f.gcount(), " of ", size, " bytes");
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
    return gunzip(bytes, path, max_unpacked ? max_unpacked : default_unpack_limit());
  return bytes;
}

void check_labels(const std::vector<int32_t>& labels, int num_classes, const std::string& where) {
  for (size_t i = 0; i < labels.size(); ++i) {
    CUMLP_CHECK(labels[i] >= 0 && labels[i] < num_classes, where, ": label ", labels[i], " at index ", i,
                " is outside [0, ", num_classes, ")");
  }
}

}  // namespace cumlp::data
