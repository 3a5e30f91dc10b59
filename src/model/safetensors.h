// lmsim: reader and writer for the safetensors format (8-byte little-endian header length,
// JSON header, raw little-endian data). Reads F32, F16, BF16, F64, I64, I32, I16, I8, U8.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lmsim {

struct TensorInfo {
    std::string dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte offsets into the data section
    uint64_t end = 0;
    int64_t numel() const;
};

std::string shape_string(const std::vector<int64_t>& shape);

class SafetensorsFile {
public:
    // Maps the file and validates the header; throws InputError naming the file on a truncated
    // file, a corrupt header, an unknown dtype or inconsistent offsets.
    explicit SafetensorsFile(const std::string& path);
    ~SafetensorsFile();
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return path_; }
    bool has(const std::string& name) const { return tensors_.count(name) != 0; }
    const TensorInfo& info(const std::string& name) const;
    std::vector<std::string> names() const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }

    // Reads a floating tensor as float32, checking its shape (throws with expected and actual
    // shape) and that every value is finite.
    std::vector<float> read_float(const std::string& name, const std::vector<int64_t>& shape) const;
    // Reads an integer tensor (any integer dtype) as int64, checking its shape.
    std::vector<int64_t> read_int(const std::string& name, const std::vector<int64_t>& shape) const;

private:
    void open_and_validate();
    void release();
    const TensorInfo& require(const std::string& name, const std::vector<int64_t>& shape) const;
    std::string path_;
    int fd_ = -1;
    const uint8_t* map_ = nullptr;
    uint64_t file_bytes_ = 0;
    uint64_t data_offset_ = 0;
    std::map<std::string, TensorInfo> tensors_;
    std::map<std::string, std::string> metadata_;
};

// Collects tensors and writes them as one safetensors file. The file is written to a temporary
// name and renamed at the end, so a failed run never leaves a half-written result.
class SafetensorsWriter {
public:
    void add_f32(const std::string& name, const std::vector<int64_t>& shape,
                 const std::vector<float>& data);
    void add_i32(const std::string& name, const std::vector<int64_t>& shape,
                 const std::vector<int32_t>& data);
    void add_i8(const std::string& name, const std::vector<int64_t>& shape,
                const std::vector<int8_t>& data);
    void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
    void write(const std::string& path) const;

private:
    struct Entry {
        std::string dtype;
        std::vector<int64_t> shape;
        std::vector<uint8_t> bytes;
    };
    void add(const std::string& name, const std::string& dtype, const std::vector<int64_t>& shape,
             const void* data, std::size_t bytes);
    std::map<std::string, Entry> entries_;
    std::map<std::string, std::string> metadata_;
};

// Writes a file atomically: to "<path>.tmp" first, then renamed over <path>.
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace lmsim
