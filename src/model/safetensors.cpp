#include "model/safetensors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace lmsim {
namespace {

// Largest header we accept (the format's reference implementation uses 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

int dtype_bytes(const std::string& dtype) {
    if (dtype == "F64" || dtype == "I64") return 8;
    if (dtype == "F32" || dtype == "I32") return 4;
    if (dtype == "F16" || dtype == "BF16" || dtype == "I16") return 2;
    if (dtype == "I8" || dtype == "U8") return 1;
    return 0;
}

float half_to_float(uint16_t h) {
    uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = std::ldexp(static_cast<float>(mant), -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
    return sign ? -v : v;
}

float bf16_to_float(uint16_t b) {
    uint32_t bits = static_cast<uint32_t>(b) << 16;
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
}

template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

}  // namespace

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
    // A constructor that throws runs no destructor: the file and its mapping are released here
    // (found by fuzzing: every refused file leaked a descriptor).
    try {
        open_and_validate();
    } catch (...) {
        release();
        throw;
    }
}

void SafetensorsFile::release() {
    if (map_) munmap(const_cast<uint8_t*>(map_), file_bytes_);
    if (fd_ >= 0) ::close(fd_);
    map_ = nullptr;
    fd_ = -1;
}

void SafetensorsFile::open_and_validate() {
    const std::string& path = path_;
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) throw InputError(fmt::format("{}: cannot open file", path));
    struct stat st {};
    if (fstat(fd_, &st) != 0) throw InputError(fmt::format("{}: cannot stat file", path));
    file_bytes_ = static_cast<uint64_t>(st.st_size);
    if (file_bytes_ < 8)
        throw InputError(fmt::format("{}: truncated file ({} bytes, a safetensors file has at "
                                     "least an 8-byte header length)", path, file_bytes_));
    void* m = mmap(nullptr, file_bytes_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (m == MAP_FAILED) throw InputError(fmt::format("{}: cannot map file", path));
    map_ = static_cast<const uint8_t*>(m);
    uint64_t header_bytes = load<uint64_t>(map_);
    if (header_bytes > kMaxHeaderBytes || header_bytes > file_bytes_ - 8)
        throw InputError(fmt::format("{}: corrupt header: header length {} does not fit the file "
                                     "({} bytes)", path, header_bytes, file_bytes_));
    data_offset_ = 8 + header_bytes;
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(map_ + 8, map_ + 8 + header_bytes);
    } catch (const nlohmann::json::exception& e) {
        throw InputError(fmt::format("{}: corrupt header: {}", path, e.what()));
    }
    if (!header.is_object()) throw InputError(fmt::format("{}: corrupt header: not an object", path));
    uint64_t data_bytes = file_bytes_ - data_offset_;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") {
            if (!it->is_object())
                throw InputError(fmt::format("{}: corrupt header: __metadata__ is not an object", path));
            for (auto m2 = it->begin(); m2 != it->end(); ++m2)
                metadata_[m2.key()] = m2->is_string() ? m2->get<std::string>() : m2->dump();
            continue;
        }
        const auto& t = *it;
        if (!t.is_object() || !t.contains("dtype") || !t.contains("shape") ||
            !t.contains("data_offsets") || !t["dtype"].is_string() || !t["shape"].is_array() ||
            !t["data_offsets"].is_array() || t["data_offsets"].size() != 2)
            throw InputError(fmt::format("{}: corrupt header: entry '{}' needs dtype, shape and "
                                         "two data_offsets", path, it.key()));
        TensorInfo info;
        info.dtype = t["dtype"].get<std::string>();
        if (dtype_bytes(info.dtype) == 0)
            throw InputError(fmt::format("{}: tensor '{}': unknown dtype '{}' (expected F32, F16, "
                                         "BF16, F64, I64, I32, I16, I8 or U8)",
                                         path, it.key(), info.dtype));
        uint64_t elements = 1;
        for (const auto& d : t["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0)
                throw InputError(fmt::format("{}: corrupt header: tensor '{}' has a bad shape {}",
                                             path, it.key(), t["shape"].dump()));
            info.shape.push_back(d.get<int64_t>());
            // No tensor has more elements than the file has bytes (numel() must not overflow).
            const uint64_t dim = static_cast<uint64_t>(d.get<int64_t>());
            if (dim != 0 && elements > file_bytes_ / dim)
                throw InputError(fmt::format("{}: corrupt header: tensor '{}' has shape {}: more elements than the "
                                             "file has bytes", path, it.key(), t["shape"].dump()));
            elements *= dim;
        }
        const auto& off = t["data_offsets"];
        if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            throw InputError(fmt::format("{}: corrupt header: tensor '{}' has bad data_offsets",
                                         path, it.key()));
        info.begin = off[0].get<uint64_t>();
        info.end = off[1].get<uint64_t>();
        uint64_t expected = static_cast<uint64_t>(info.numel()) * dtype_bytes(info.dtype);
        if (info.end < info.begin || info.end - info.begin != expected)
            throw InputError(fmt::format("{}: corrupt header: tensor '{}' spans {} bytes, its "
                                         "shape {} of {} needs {}", path, it.key(),
                                         info.end - info.begin, shape_string(info.shape),
                                         info.dtype, expected));
        if (info.end > data_bytes)
            throw InputError(fmt::format("{}: truncated file: tensor '{}' ends at byte {} of the "
                                         "data section, which has only {} bytes", path, it.key(),
                                         info.end, data_bytes));
        tensors_[it.key()] = info;
    }
}

SafetensorsFile::~SafetensorsFile() { release(); }

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end())
        throw InputError(fmt::format("{}: missing tensor '{}'", path_, name));
    return it->second;
}

std::vector<std::string> SafetensorsFile::names() const {
    std::vector<std::string> out;
    for (const auto& kv : tensors_) out.push_back(kv.first);
    return out;
}

const TensorInfo& SafetensorsFile::require(const std::string& name,
                                           const std::vector<int64_t>& shape) const {
    const TensorInfo& t = info(name);
    if (t.shape != shape)
        throw InputError(fmt::format("{}: tensor '{}' has shape {}, expected {}", path_, name,
                                     shape_string(t.shape), shape_string(shape)));
    return t;
}

std::vector<float> SafetensorsFile::read_float(const std::string& name,
                                               const std::vector<int64_t>& shape) const {
    const TensorInfo& t = require(name, shape);
    const uint8_t* p = map_ + data_offset_ + t.begin;
    int64_t n = t.numel();
    std::vector<float> out(static_cast<std::size_t>(n));
    if (t.dtype == "F32") {
        std::memcpy(out.data(), p, n * 4);
    } else if (t.dtype == "F16") {
        for (int64_t i = 0; i < n; ++i) out[i] = half_to_float(load<uint16_t>(p + 2 * i));
    } else if (t.dtype == "BF16") {
        for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_float(load<uint16_t>(p + 2 * i));
    } else if (t.dtype == "F64") {
        for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(load<double>(p + 8 * i));
    } else {
        throw InputError(fmt::format("{}: tensor '{}' has dtype {}, expected a floating type "
                                     "(F32, F16, BF16 or F64)", path_, name, t.dtype));
    }
    for (int64_t i = 0; i < n; ++i)
        if (!std::isfinite(out[i]))
            throw InputError(fmt::format("{}: tensor '{}' holds a non-finite value ({}) at flat "
                                         "index {}", path_, name, out[i], i));
    return out;
}

std::vector<int64_t> SafetensorsFile::read_int(const std::string& name,
                                               const std::vector<int64_t>& shape) const {
    const TensorInfo& t = require(name, shape);
    const uint8_t* p = map_ + data_offset_ + t.begin;
    int64_t n = t.numel();
    std::vector<int64_t> out(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        if (t.dtype == "I64") out[i] = load<int64_t>(p + 8 * i);
        else if (t.dtype == "I32") out[i] = load<int32_t>(p + 4 * i);
        else if (t.dtype == "I16") out[i] = load<int16_t>(p + 2 * i);
        else if (t.dtype == "I8") out[i] = load<int8_t>(p + i);
        else if (t.dtype == "U8") out[i] = load<uint8_t>(p + i);
        else
            throw InputError(fmt::format("{}: tensor '{}' has dtype {}, expected an integer type",
                                         path_, name, t.dtype));
    }
    return out;
}

void SafetensorsWriter::add(const std::string& name, const std::string& dtype,
                            const std::vector<int64_t>& shape, const void* data, std::size_t bytes) {
    Entry e{dtype, shape, std::vector<uint8_t>(bytes)};
    if (bytes) std::memcpy(e.bytes.data(), data, bytes);
    entries_[name] = std::move(e);
}

void SafetensorsWriter::add_f32(const std::string& name, const std::vector<int64_t>& shape,
                                const std::vector<float>& data) {
    add(name, "F32", shape, data.data(), data.size() * 4);
}
void SafetensorsWriter::add_i32(const std::string& name, const std::vector<int64_t>& shape,
                                const std::vector<int32_t>& data) {
    add(name, "I32", shape, data.data(), data.size() * 4);
}
void SafetensorsWriter::add_i8(const std::string& name, const std::vector<int64_t>& shape,
                               const std::vector<int8_t>& data) {
    add(name, "I8", shape, data.data(), data.size());
}

void SafetensorsWriter::write(const std::string& path) const {
    nlohmann::json header = nlohmann::json::object();
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    uint64_t offset = 0;
    for (const auto& kv : entries_) {
        header[kv.first] = {{"dtype", kv.second.dtype},
                            {"shape", kv.second.shape},
                            {"data_offsets", {offset, offset + kv.second.bytes.size()}}};
        offset += kv.second.bytes.size();
    }
    std::string h = header.dump();
    while ((8 + h.size()) % 8) h += ' ';  // align the data section to 8 bytes
    std::string out;
    uint64_t n = h.size();
    out.append(reinterpret_cast<const char*>(&n), 8);
    out += h;
    for (const auto& kv : entries_)
        out.append(reinterpret_cast<const char*>(kv.second.bytes.data()), kv.second.bytes.size());
    write_file_atomically(path, out);
}

void write_file_atomically(const std::string& path, const std::string& contents) {
    // Written to PATH.tmp, fsync'd, renamed over PATH, then the directory fsync'd: after a crash
    // or power loss PATH holds either the old contents or the new, never a part.
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw InputError(fmt::format("{}: cannot write file ({})", path, std::strerror(errno)));
    std::size_t done = 0;
    while (done < contents.size()) {
        const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            std::remove(tmp.c_str());
            throw InputError(fmt::format("{}: write failed ({})", path, std::strerror(err)));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        std::remove(tmp.c_str());
        throw InputError(fmt::format("{}: cannot flush to disk ({})", path, std::strerror(errno)));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw InputError(fmt::format("{}: cannot rename {} into place", path, tmp));
    }
    const std::size_t slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
}

}  // namespace lmsim
