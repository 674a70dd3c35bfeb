// Page decompression for the Parquet reader: snappy, gzip (zlib) and zstd through Debian's
// libraries. Each is optional at build time; a page in a codec this build lacks gets a message.
#include <string>
#include <vector>

#include "core/util/error.h"

#ifdef PEFT_HAVE_SNAPPY
#include <snappy-c.h>
#endif
#ifdef PEFT_HAVE_ZSTD
#include <zstd.h>
#endif
#ifdef PEFT_HAVE_ZLIB
#include <zlib.h>
#endif

namespace peft::data {

namespace {
std::string codecName(int codec) {
    switch (codec) {
        case 0: return "UNCOMPRESSED";
        case 1: return "SNAPPY";
        case 2: return "GZIP";
        case 3: return "LZO";
        case 4: return "BROTLI";
        case 5: return "LZ4";
        case 6: return "ZSTD";
        case 7: return "LZ4_RAW";
        default: return "codec " + std::to_string(codec);
    }
}

[[noreturn]] void corrupt(const std::string& where, int codec, const std::string& detail) {
    fail(where, "a " + codecName(codec) + " page does not decompress (" + detail + ")",
         "The file is damaged; re-download it.");
}
}  // namespace

std::vector<std::string> parquetCodecs() {
    std::vector<std::string> out;
#ifdef PEFT_HAVE_SNAPPY
    out.push_back("snappy");
#endif
#ifdef PEFT_HAVE_ZLIB
    out.push_back("gzip");
#endif
#ifdef PEFT_HAVE_ZSTD
    out.push_back("zstd");
#endif
    return out;
}

std::string parquetDecompress(int codec, const char* data, size_t size, size_t uncompressedSize,
                              const std::string& where) {
    if (codec == 0) return std::string(data, size);
    std::string out(uncompressedSize, '\0');
    switch (codec) {
#ifdef PEFT_HAVE_SNAPPY
        case 1: {
            size_t len = 0;
            if (snappy_uncompressed_length(data, size, &len) != SNAPPY_OK) corrupt(where, codec, "bad header");
            if (len != uncompressedSize) corrupt(where, codec, "size differs from the page header");
            if (len && snappy_uncompress(data, size, &out[0], &len) != SNAPPY_OK) corrupt(where, codec, "bad data");
            return out;
        }
#endif
#ifdef PEFT_HAVE_ZLIB
        case 2: {
            z_stream z{};
            if (inflateInit2(&z, 15 + 32) != Z_OK) corrupt(where, codec, "zlib init");  // gzip or zlib header
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
            z.avail_in = static_cast<uInt>(size);
            z.next_out = reinterpret_cast<Bytef*>(out.empty() ? nullptr : &out[0]);
            z.avail_out = static_cast<uInt>(out.size());
            int rc = inflate(&z, Z_FINISH);
            size_t produced = out.size() - z.avail_out;
            inflateEnd(&z);
            if (rc != Z_STREAM_END || produced != uncompressedSize)
                corrupt(where, codec, "zlib code " + std::to_string(rc));
            return out;
        }
#endif
#ifdef PEFT_HAVE_ZSTD
        case 6: {
            size_t got = ZSTD_decompress(out.empty() ? nullptr : &out[0], out.size(), data, size);
            if (ZSTD_isError(got)) corrupt(where, codec, ZSTD_getErrorName(got));
            if (got != uncompressedSize) corrupt(where, codec, "size differs from the page header");
            return out;
        }
#endif
        default: break;
    }
    fail(
        where, "pages compressed with " + codecName(codec) + " are not supported by this build",
        "Re-write the file with snappy, gzip or zstd compression (or none); this build reads: " +
            [] {
                std::string s = "uncompressed";
                for (const auto& c : parquetCodecs()) s += ", " + c;
                return s;
            }() +
            ".");
}

}  // namespace peft::data
