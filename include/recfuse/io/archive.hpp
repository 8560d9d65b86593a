// recfuse: the model file format, a small versioned, checksummed binary archive written
// atomically.
//
//   recfuse::io::archive a("biased_mf");
//   a.put("global_mean", 3.53);
//   a.put_string("dtype", "float32");
//   a.put_array<float>("user_factors", factors, {users, k});   // shape product == size
//   recfuse::io::save_archive("model.rfm", a);                 // temp file, fsync, rename
//   auto b = recfuse::io::load_archive("model.rfm");           // checks magic, version, size, CRC
//   std::vector<index_t> shape;
//   std::vector<float> f = b.array<float>("user_factors", &shape);
//
// An archive holds a kind (what the file is, e.g. "biased_mf") and named entries: scalars
// (double), strings, and n-dimensional arrays of float32, float64, int32 or int64. Layout
// (little-endian): "RFARCHV1", u32 version (1), u32 flags (0), u64 payload length, the payload,
// then the CRC-64/XZ of the payload. See docs/io.md for the byte table.
//
// save_archive never leaves a half-written file at the target: it writes `<target>.tmp.<pid>.<n>`
// in the same directory, fsyncs it, and renames it over the target; on any failure the temp
// file is removed and the previous target survives. The file helpers used for that (and by the
// ratings loader in recfuse/io/ratings.hpp) are in detail:: below. Files are written with POSIX
// open/write/fsync/rename where available.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "recfuse/core/config.hpp"
#include "recfuse/core/errors.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#define RECFUSE_IO_POSIX 1
#else
#define RECFUSE_IO_POSIX 0
#endif

namespace recfuse::io {
namespace detail {

using recfuse::detail::throw_error;

template <class>
inline constexpr bool dependent_false = false;

// ---- CRC-64/XZ (ECMA-182 polynomial, reflected, init and final xor ~0), slicing by 8 ----------
// check value: crc64("123456789") == 0x995DC9BBDF1939FA. About 1 byte per cycle.

inline constexpr std::uint64_t crc64_poly = 0xC96C5795D7870F42ULL;

constexpr std::array<std::array<std::uint64_t, 256>, 8> make_crc64_tables() {
  std::array<std::array<std::uint64_t, 256>, 8> t{};
  for (std::uint64_t i = 0; i < 256; ++i) {
    std::uint64_t c = i;
    for (int b = 0; b < 8; ++b) c = (c & 1) ? (c >> 1) ^ crc64_poly : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}
inline constexpr auto crc64_tables = make_crc64_tables();

inline std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int b = 7; b >= 0; --b) v = (v << 8) | p[b];
  return v;
}

// Continues a CRC: crc64(a + b) == crc64_update(crc64_update(0, a), b).
inline std::uint64_t crc64_update(std::uint64_t crc, const void* data, std::size_t n) {
  const auto& t = crc64_tables;
  auto p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (; n >= 8; n -= 8, p += 8) {
    crc ^= load_le64(p);
    crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^ t[5][(crc >> 16) & 0xff] ^
          t[4][(crc >> 24) & 0xff] ^ t[3][(crc >> 32) & 0xff] ^ t[2][(crc >> 40) & 0xff] ^
          t[1][(crc >> 48) & 0xff] ^ t[0][crc >> 56];
  }
  for (; n > 0; --n, ++p) crc = t[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
  return ~crc;
}
inline std::uint64_t crc64(const void* data, std::size_t n) { return crc64_update(0, data, n); }

// ---- reading a whole file ---------------------------------------------------------------------

inline std::string error_text(int err) { return std::generic_category().message(err); }

// A file's content, followed by `padding` zero bytes (so parsers may read a word past the end).
struct file_buffer {
  static constexpr std::size_t padding = 16;
  std::unique_ptr<char[]> data;
  std::size_t size = 0;
  const char* begin() const { return data.get(); }
  const char* end() const { return data.get() + size; }
};

// The whole content of `path`; io_error "<function>: cannot open "<path>": <reason>" and the like.
inline file_buffer read_file(const char* function, const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw_error<io_error>(function, "cannot read ", path, ": it is a directory");
  }
#if RECFUSE_IO_POSIX
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
#else
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.string().c_str(), "rb"),
                                                    &std::fclose);
#endif
  if (!f) throw_error<io_error>(function, "cannot open ", path, ": ", error_text(errno));
  const auto hint = std::filesystem::file_size(path, ec);
  std::size_t capacity = ec ? std::size_t{1} << 16 : static_cast<std::size_t>(hint) + 1;
  file_buffer out;
  out.data = std::make_unique_for_overwrite<char[]>(capacity + file_buffer::padding);
  for (;;) {
    const std::size_t got = std::fread(out.data.get() + out.size, 1, capacity - out.size, f.get());
    out.size += got;
    if (out.size < capacity) {
      if (std::ferror(f.get())) {
        throw_error<io_error>(function, "cannot read ", path, ": ", error_text(errno));
      }
      break;  // end of file
    }
    // The file grew since its size was taken (or has no size): read on into a larger buffer.
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity * 2 + file_buffer::padding);
    std::memcpy(bigger.get(), out.data.get(), out.size);
    out.data = std::move(bigger);
    capacity *= 2;
  }
  std::memset(out.data.get() + out.size, 0, file_buffer::padding);
  return out;
}

// ---- atomic write -----------------------------------------------------------------------------

inline std::atomic<std::uint64_t> temp_file_counter{0};

// A buffered output file; every failure is an io_error naming `function` and the file.
class output_file {
 public:
  output_file(const char* function, std::filesystem::path path)
      : function_(function), path_(std::move(path)) {
#if RECFUSE_IO_POSIX
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) fail("cannot create ", errno);
#else
    file_ = std::fopen(path_.string().c_str(), "wbx");
    if (!file_) fail("cannot create ", errno);
#endif
    buffer_ = std::make_unique_for_overwrite<char[]>(buffer_size);
  }
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;
  ~output_file() { close_quietly(); }

  void write(const void* data, std::size_t n) {
    if (n == 0) return;
    auto p = static_cast<const char*>(data);
    if (used_ + n > buffer_size) {
      flush_buffer();
      if (n >= buffer_size) return write_through(p, n);
    }
    std::memcpy(buffer_.get() + used_, p, n);
    used_ += n;
  }
  void write(std::string_view s) { write(s.data(), s.size()); }

  // Flushes, syncs to the device and closes; throws io_error on any failure.
  void commit() {
    flush_buffer();
#if RECFUSE_IO_POSIX
    if (::fsync(fd_) != 0) fail("cannot sync ", errno);
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close ", errno);
#else
    std::FILE* f = file_;
    file_ = nullptr;
    if (std::fflush(f) != 0) {
      std::fclose(f);
      fail("cannot flush ", errno);
    }
    if (std::fclose(f) != 0) fail("cannot close ", errno);
#endif
  }

  void close_quietly() noexcept {
#if RECFUSE_IO_POSIX
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
#else
    if (file_) std::fclose(file_);
    file_ = nullptr;
#endif
  }

 private:
  static constexpr std::size_t buffer_size = std::size_t{1} << 20;

  [[noreturn]] void fail(const char* what, int err) const {
    throw_error<io_error>(function_, what, path_, ": ", error_text(err));
  }
  void flush_buffer() {
    write_through(buffer_.get(), used_);
    used_ = 0;
  }
  void write_through(const char* p, std::size_t n) {
#if RECFUSE_IO_POSIX
    while (n > 0) {
      const ::ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        fail("cannot write ", errno);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
#else
    if (n > 0 && std::fwrite(p, 1, n, file_) != n) fail("cannot write ", errno);
#endif
  }

  const char* function_;
  std::filesystem::path path_;
  std::unique_ptr<char[]> buffer_;
  std::size_t used_ = 0;
#if RECFUSE_IO_POSIX
  int fd_ = -1;
#else
  std::FILE* file_ = nullptr;
#endif
};

// Writes `target` atomically: fill(output_file&) writes a temp file `<target>.tmp.<pid>.<n>` in
// the target's directory, which is synced and renamed over the target. If fill throws (any
// exception, passed on unchanged) or a write, sync or rename fails (io_error), the temp file is
// removed and the target is untouched.
template <class Fill>
void atomic_write(const char* function, const std::filesystem::path& target, Fill&& fill) {
  std::error_code ec;
  if (std::filesystem::is_directory(target, ec)) {
    throw_error<io_error>(function, "cannot write ", target, ": it is a directory");
  }
  if (target.filename().empty()) {
    throw_error<io_error>(function, "cannot write ", target, ": it names no file");
  }
#if RECFUSE_IO_POSIX
  const long long pid = static_cast<long long>(::getpid());
#else
  const long long pid = 0;
#endif
  const auto n = temp_file_counter.fetch_add(1, std::memory_order_relaxed);
  std::filesystem::path temp = target;
  temp += recfuse::detail::concat(".tmp.", pid, ".", n);
  output_file out(function, temp);  // throws before anything exists when it cannot create
  try {
    fill(out);
    out.commit();
    std::filesystem::rename(temp, target, ec);
    if (ec) {
      throw_error<io_error>(function, "cannot rename ", temp, " to ", target, ": ", ec.message());
    }
  } catch (...) {
    out.close_quietly();
    std::filesystem::remove(temp, ec);
    throw;
  }
#if RECFUSE_IO_POSIX
  // Make the rename itself durable; best effort (some file systems refuse to sync a directory).
  const auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
#endif
}

}  // namespace detail

// ---- the archive ------------------------------------------------------------------------------

enum class dtype : std::uint8_t { float32 = 1, float64 = 2, int32 = 3, int64 = 4 };

inline const char* dtype_name(dtype d) {
  switch (d) {
    case dtype::float32:
      return "float32";
    case dtype::float64:
      return "float64";
    case dtype::int32:
      return "int32";
    case dtype::int64:
      return "int64";
  }
  return "unknown";
}

inline std::size_t dtype_size(dtype d) { return d == dtype::float32 || d == dtype::int32 ? 4 : 8; }

template <class T>
constexpr dtype dtype_of() {
  if constexpr (std::is_same_v<T, float>) {
    return dtype::float32;
  } else if constexpr (std::is_same_v<T, double>) {
    return dtype::float64;
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    return dtype::int32;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return dtype::int64;
  } else {
    static_assert(detail::dependent_false<T>,
                  "recfuse::io::archive: arrays hold float, double, int32_t or int64_t");
  }
}

enum class entry_type : std::uint8_t { none = 0, scalar = 1, string = 2, array = 3 };

inline const char* entry_type_name(entry_type t) {
  switch (t) {
    case entry_type::scalar:
      return "a scalar";
    case entry_type::string:
      return "a string";
    case entry_type::array:
      return "an array";
    case entry_type::none:
      break;
  }
  return "absent";
}

class archive;

namespace detail {
inline void write_archive(const char* function, const std::filesystem::path& path,
                          const archive& a);
inline archive read_archive(const char* function, const std::filesystem::path& path);
}  // namespace detail

class archive {
 public:
  archive() = default;
  explicit archive(std::string kind) : kind_(std::move(kind)) {}

  // What the file holds, e.g. "biased_mf"; loaders check it.
  const std::string& kind() const { return kind_; }
  void set_kind(std::string kind) { kind_ = std::move(kind); }

  // The file this archive was loaded from (empty when built in memory); named in errors.
  const std::filesystem::path& source() const { return source_; }

  // put*: add an entry, replacing any entry of the same name (of any type).
  void put(std::string name, double value) {
    entry e;
    e.type = entry_type::scalar;
    e.scalar = value;
    entries_.insert_or_assign(std::move(name), std::move(e));
  }
  void put_string(std::string name, std::string value) {
    entry e;
    e.type = entry_type::string;
    e.text = std::move(value);
    entries_.insert_or_assign(std::move(name), std::move(e));
  }
  // An array of shape `shape` (row-major); the product of the extents must be data.size().
  template <class T>
  void put_array(std::string name, std::span<const T> data, std::vector<index_t> shape) {
    constexpr const char* fn = "recfuse::io::archive::put_array";
    const bool any_zero = std::find(shape.begin(), shape.end(), index_t{0}) != shape.end();
    index_t count = any_zero ? 0 : 1;
    for (const index_t d : shape) {
      if (d < 0) {
        recfuse::detail::throw_error<shape_error>(fn, "entry \"", name, "\": shape ",
                                                  shape_text(shape), " has a negative extent");
      }
      if (any_zero) continue;
      if (count > std::numeric_limits<index_t>::max() / d) {
        recfuse::detail::throw_error<shape_error>(fn, "entry \"", name, "\": shape ",
                                                  shape_text(shape), " has too many elements");
      }
      count *= d;
    }
    if (count != static_cast<index_t>(data.size())) {
      recfuse::detail::throw_error<shape_error>(fn, "entry \"", name, "\": shape ",
                                                shape_text(shape), " has ", count,
                                                " elements but the data has ", data.size());
    }
    entry e;
    e.type = entry_type::array;
    e.element = dtype_of<T>();
    e.shape = std::move(shape);
    e.bytes.resize(data.size_bytes());
    if (!data.empty()) std::memcpy(e.bytes.data(), data.data(), data.size_bytes());
    entries_.insert_or_assign(std::move(name), std::move(e));
  }
  template <class T>
  void put_array(std::string name, const std::vector<T>& data, std::vector<index_t> shape) {
    put_array(std::move(name), std::span<const T>(data), std::move(shape));
  }
  // A 1-D array.
  template <class T>
  void put_array(std::string name, const std::vector<T>& data) {
    put_array(std::move(name), std::span<const T>(data), {static_cast<index_t>(data.size())});
  }

  bool contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }
  // entry_type::none when there is no such entry.
  entry_type type(std::string_view name) const {
    const auto it = entries_.find(name);
    return it == entries_.end() ? entry_type::none : it->second.type;
  }
  // Every entry name, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& [name, e] : entries_) out.push_back(name);
    return out;
  }

  // Accessors: io_error when the entry is missing or of another type or dtype.
  double scalar(std::string_view name) const {
    return get("recfuse::io::archive::scalar", name, entry_type::scalar).scalar;
  }
  const std::string& string(std::string_view name) const {
    return get("recfuse::io::archive::string", name, entry_type::string).text;
  }
  dtype array_dtype(std::string_view name) const {
    return get("recfuse::io::archive::array_dtype", name, entry_type::array).element;
  }
  const std::vector<index_t>& array_shape(std::string_view name) const {
    return get("recfuse::io::archive::array_shape", name, entry_type::array).shape;
  }
  template <class T>
  std::vector<T> array(std::string_view name, std::vector<index_t>* shape = nullptr) const {
    constexpr const char* fn = "recfuse::io::archive::array";
    const entry& e = get(fn, name, entry_type::array);
    if (e.element != dtype_of<T>()) {
      recfuse::detail::throw_error<io_error>(fn, "entry \"", name, "\" holds ",
                                             dtype_name(e.element), ", not ",
                                             dtype_name(dtype_of<T>()), where());
    }
    std::vector<T> out(e.bytes.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), e.bytes.data(), e.bytes.size());
    if (shape) *shape = e.shape;
    return out;
  }

 private:
  struct entry {
    entry_type type = entry_type::none;
    double scalar = 0;
    std::string text;
    dtype element = dtype::float32;
    std::vector<index_t> shape;
    std::vector<unsigned char> bytes;  // native byte order
  };

  friend void detail::write_archive(const char* function, const std::filesystem::path& path,
                                    const archive& a);
  friend archive detail::read_archive(const char* function, const std::filesystem::path& path);

  static std::string shape_text(const std::vector<index_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (i) s += ", ";
      s += std::to_string(shape[i]);
    }
    return s + "]";
  }
  std::string where() const {
    return source_.empty() ? std::string(" (in an archive built in memory)")
                           : recfuse::detail::concat(" (in model file ", source_, ")");
  }
  const entry& get(const char* fn, std::string_view name, entry_type want) const {
    const auto it = entries_.find(name);
    if (it == entries_.end()) {
      recfuse::detail::throw_error<io_error>(fn, "no entry \"", name, "\"", where());
    }
    if (it->second.type != want) {
      recfuse::detail::throw_error<io_error>(fn, "entry \"", name, "\" is ",
                                             entry_type_name(it->second.type), ", not ",
                                             entry_type_name(want), where());
    }
    return it->second;
  }

  std::string kind_;
  std::filesystem::path source_;
  std::map<std::string, entry, std::less<>> entries_;
};

namespace detail {

inline constexpr char archive_magic[8] = {'R', 'F', 'A', 'R', 'C', 'H', 'V', '1'};
inline constexpr std::uint32_t archive_version = 1;
inline constexpr std::size_t archive_header_size = 24;  // magic, version, flags, payload length
inline constexpr std::size_t archive_trailer_size = 8;  // CRC-64 of the payload

template <class U>
void store_le(unsigned char* out, U v) {
  for (std::size_t b = 0; b < sizeof(U); ++b) out[b] = static_cast<unsigned char>(v >> (8 * b));
}
template <class U>
U load_le(const unsigned char* p) {
  U v = 0;
  for (std::size_t b = sizeof(U); b-- > 0;) v = static_cast<U>((v << 8) | p[b]);
  return v;
}

// Writes the payload through `out`, keeping its CRC; bytes() counts without writing when out
// is null (to size the payload first).
class payload_writer {
 public:
  explicit payload_writer(output_file* out) : out_(out) {}
  void bytes(const void* p, std::size_t n) {
    if (out_) {
      crc_ = crc64_update(crc_, p, n);
      out_->write(p, n);
    }
    size_ += n;
  }
  template <class U>
  void le(U v) {
    unsigned char b[sizeof(U)];
    store_le(b, v);
    bytes(b, sizeof b);
  }
  void text32(std::string_view s) {
    le(static_cast<std::uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  // Elements of `size` bytes in native order, written little-endian.
  void elements(const unsigned char* p, std::size_t count, std::size_t size) {
    if constexpr (std::endian::native == std::endian::little) {
      bytes(p, count * size);
    } else {
      unsigned char chunk[4096];
      const std::size_t per = sizeof chunk / size;
      for (std::size_t i = 0; i < count; i += per) {
        const std::size_t m = std::min(per, count - i);
        for (std::size_t j = 0; j < m; ++j) {
          for (std::size_t b = 0; b < size; ++b)
            chunk[j * size + b] = p[(i + j) * size + size - 1 - b];
        }
        bytes(chunk, m * size);
      }
    }
  }
  std::uint64_t crc() const { return crc_; }
  std::uint64_t size() const { return size_; }

 private:
  output_file* out_;
  std::uint64_t crc_ = 0;
  std::uint64_t size_ = 0;
};

// Reads a payload; every overrun is an io_error "malformed payload at byte N: ...".
class payload_reader {
 public:
  payload_reader(const char* function, const std::filesystem::path& path, const unsigned char* p,
                 std::size_t n)
      : function_(function), path_(path), begin_(p), p_(p), end_(p + n) {}
  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
  std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }
  [[noreturn]] void malformed(const std::string& what) const {
    throw_error<io_error>(function_, path_, ": malformed payload at byte ", offset(), ": ", what);
  }
  const unsigned char* take(std::size_t n, const char* what) {
    if (n > left()) {
      malformed(recfuse::detail::concat(what, " needs ", n, " bytes but only ", left(), " remain"));
    }
    const unsigned char* at = p_;
    p_ += n;
    return at;
  }
  template <class U>
  U le(const char* what) {
    return load_le<U>(take(sizeof(U), what));
  }
  std::string text32(const char* what) {
    const auto n = le<std::uint32_t>(what);
    const auto p = take(n, what);
    return std::string(reinterpret_cast<const char*>(p), n);
  }

 private:
  const char* function_;
  const std::filesystem::path& path_;
  const unsigned char* begin_;
  const unsigned char* p_;
  const unsigned char* end_;
};

}  // namespace detail

namespace detail {

inline void write_archive(const char* fn, const std::filesystem::path& path, const archive& a) {
  if (a.kind_.size() > UINT32_MAX || a.entries_.size() > UINT32_MAX) {
    recfuse::detail::throw_error<io_error>(fn, "the archive is too large for the format");
  }
  for (const auto& [name, e] : a.entries_) {
    if (name.size() > UINT32_MAX || e.shape.size() > UINT32_MAX) {
      recfuse::detail::throw_error<io_error>(fn, "entry name or rank too large for the format");
    }
  }
  const auto write_payload = [&](payload_writer& w) {
    w.text32(a.kind_);
    w.le(static_cast<std::uint32_t>(a.entries_.size()));
    for (const auto& [name, e] : a.entries_) {
      w.text32(name);
      w.le(static_cast<std::uint8_t>(e.type));
      switch (e.type) {
        case entry_type::scalar:
          w.le(std::bit_cast<std::uint64_t>(e.scalar));
          break;
        case entry_type::string:
          w.le(static_cast<std::uint64_t>(e.text.size()));
          w.bytes(e.text.data(), e.text.size());
          break;
        case entry_type::array: {
          w.le(static_cast<std::uint8_t>(e.element));
          w.le(static_cast<std::uint32_t>(e.shape.size()));
          for (const index_t d : e.shape) w.le(static_cast<std::uint64_t>(d));
          const std::size_t size = dtype_size(e.element);
          w.elements(e.bytes.data(), e.bytes.size() / size, size);
          break;
        }
        case entry_type::none:
          break;
      }
    }
  };
  payload_writer sizer(nullptr);
  write_payload(sizer);
  atomic_write(fn, path, [&](output_file& out) {
    unsigned char header[archive_header_size];
    std::memcpy(header, archive_magic, 8);
    store_le(header + 8, archive_version);
    store_le(header + 12, std::uint32_t{0});
    store_le(header + 16, sizer.size());
    out.write(header, sizeof header);
    payload_writer w(&out);
    write_payload(w);
    unsigned char trailer[8];
    store_le(trailer, w.crc());
    out.write(trailer, sizeof trailer);
  });
}

inline archive read_archive(const char* fn, const std::filesystem::path& path) {
  const file_buffer file = read_file(fn, path);
  const auto p = reinterpret_cast<const unsigned char*>(file.begin());
  const std::size_t size = file.size;
  const std::size_t magic_seen = std::min<std::size_t>(size, 8);
  if (std::memcmp(p, archive_magic, magic_seen) != 0) {
    throw_error<io_error>(fn, path,
                          ": not a recfuse model file (bad magic; expected \"RFARCHV1\")");
  }
  const std::size_t minimum = archive_header_size + archive_trailer_size;
  if (size < minimum) {
    throw_error<io_error>(fn, path, ": truncated: the file has ", size, " bytes, less than the ",
                          minimum, "-byte header and checksum");
  }
  const auto version = load_le<std::uint32_t>(p + 8);
  if (version != archive_version) {
    throw_error<io_error>(fn, path, ": format version ", version,
                          " is not supported (this build reads version ", archive_version, ")");
  }
  const auto flags = load_le<std::uint32_t>(p + 12);
  if (flags != 0) {
    throw_error<io_error>(fn, path, ": unsupported format flags 0x", std::hex, flags, std::dec,
                          " (this build knows none)");
  }
  const auto payload = load_le<std::uint64_t>(p + 16);
  if (payload > size - minimum) {
    throw_error<io_error>(fn, path, ": truncated: expected ", payload, " payload bytes (",
                          payload + minimum, " bytes in all) but the file has ", size, " bytes");
  }
  if (payload < size - minimum) {
    throw_error<io_error>(fn, path, ": malformed: the file has ", size,
                          " bytes but its header says ", payload + minimum, " (trailing data)");
  }
  const unsigned char* body = p + archive_header_size;
  const auto stored = load_le<std::uint64_t>(body + payload);
  const auto computed = crc64(body, static_cast<std::size_t>(payload));
  if (stored != computed) {
    throw_error<io_error>(fn, path, ": checksum mismatch (stored 0x", std::hex, stored,
                          ", computed 0x", computed, std::dec, "): the file is corrupt");
  }

  archive a;
  a.source_ = path;
  payload_reader r(fn, path, body, static_cast<std::size_t>(payload));
  a.kind_ = r.text32("the kind");
  const auto count = r.le<std::uint32_t>("the entry count");
  for (std::uint32_t k = 0; k < count; ++k) {
    std::string name = r.text32("an entry name");
    archive::entry e;
    const auto type = r.le<std::uint8_t>("an entry type");
    if (type == static_cast<std::uint8_t>(entry_type::scalar)) {
      e.type = entry_type::scalar;
      e.scalar = std::bit_cast<double>(r.le<std::uint64_t>("a scalar"));
    } else if (type == static_cast<std::uint8_t>(entry_type::string)) {
      e.type = entry_type::string;
      const auto n = r.le<std::uint64_t>("a string length");
      if (n > r.left()) {
        r.malformed(recfuse::detail::concat("entry \"", name, "\" claims ", n,
                                            " string bytes but only ", r.left(), " remain"));
      }
      const auto s = r.take(static_cast<std::size_t>(n), "a string");
      e.text.assign(reinterpret_cast<const char*>(s), static_cast<std::size_t>(n));
    } else if (type == static_cast<std::uint8_t>(entry_type::array)) {
      e.type = entry_type::array;
      const auto d = r.le<std::uint8_t>("an array dtype");
      if (d < 1 || d > 4) {
        r.malformed(recfuse::detail::concat("entry \"", name, "\" has unknown dtype ",
                                            static_cast<int>(d)));
      }
      e.element = static_cast<dtype>(d);
      const auto rank = r.le<std::uint32_t>("an array rank");
      if (rank > r.left() / 8) {
        r.malformed(recfuse::detail::concat("entry \"", name, "\" claims rank ", rank, " but only ",
                                            r.left(), " bytes remain"));
      }
      const std::size_t elem = dtype_size(e.element);
      for (std::uint32_t i = 0; i < rank; ++i) {
        const auto extent = r.le<std::uint64_t>("an array extent");
        if (extent > static_cast<std::uint64_t>(std::numeric_limits<index_t>::max())) {
          r.malformed(recfuse::detail::concat("entry \"", name, "\" has extent ", extent));
        }
        e.shape.push_back(static_cast<index_t>(extent));
      }
      // The element count, checked against what remains before any allocation.
      const std::size_t limit = r.left() / elem;
      bool fits = true;
      std::uint64_t c = 1;
      for (const index_t extent : e.shape) {
        const auto x = static_cast<std::uint64_t>(extent);
        if (x == 0) {  // no elements, whatever the other extents
          c = 0;
          fits = true;
          break;
        }
        if (!fits) continue;
        if (c > limit / x) {
          fits = false;
        } else {
          c *= x;
        }
      }
      if (!fits) {
        r.malformed(recfuse::detail::concat("entry \"", name, "\" of shape ",
                                            archive::shape_text(e.shape), " needs more than the ",
                                            r.left(), " bytes that remain"));
      }
      const std::size_t n = static_cast<std::size_t>(c) * elem;
      const unsigned char* src = r.take(n, "array data");
      e.bytes.resize(n);
      if constexpr (std::endian::native == std::endian::little) {
        if (n) std::memcpy(e.bytes.data(), src, n);
      } else {
        for (std::size_t i = 0; i < n; i += elem) {
          for (std::size_t b = 0; b < elem; ++b) e.bytes[i + b] = src[i + elem - 1 - b];
        }
      }
    } else {
      r.malformed(recfuse::detail::concat("entry \"", name, "\" has unknown type ",
                                          static_cast<int>(type)));
    }
    if (!a.entries_.emplace(std::move(name), std::move(e)).second) {
      r.malformed("duplicate entry name");
    }
  }
  if (r.left() != 0) r.malformed(recfuse::detail::concat(r.left(), " bytes after the last entry"));
  return a;
}

}  // namespace detail

// Writes `a` to `path` atomically (see the top of this file); io_error on failure, and the
// previous file at `path`, if any, is then left as it was.
inline void save_archive(const std::filesystem::path& path, const archive& a) {
  detail::write_archive("recfuse::io::save_archive", path, a);
}

// Reads an archive written by save_archive. io_error, naming the file, when it is missing or
// unreadable, is not a recfuse model file (bad magic), has an unsupported format version or
// flags, is truncated or has trailing data, fails its checksum, or holds a malformed entry.
inline archive load_archive(const std::filesystem::path& path) {
  return detail::read_archive("recfuse::io::load_archive", path);
}

}  // namespace recfuse::io
