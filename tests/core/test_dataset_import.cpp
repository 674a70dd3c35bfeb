// Dataset file import: broken JSONL lines, JSON arrays, CSV/TSV quoting, TXT, encodings, policies.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "core/data/dataset_file.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft::data;

using peft::test::errorOf;
using peft::test::write;

namespace {

bool has(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

// The row starts at `line` (0: not checked) and holds these column values.
::testing::AssertionResult rowIs(const RawRow& row, int64_t line, const std::map<std::string, std::string>& columns) {
    if (line && row.line != line)
        return ::testing::AssertionFailure() << "row at line " << row.line << ", not " << line;
    for (const auto& [k, v] : columns)
        if (!row.value.contains(k) || row.value[k] != v)
            return ::testing::AssertionFailure()
                << "row " << row.value.dump() << ": " << k << " is not \"" << v << "\"";
    return ::testing::AssertionSuccess();
}

// The file's rejections are exactly these lines, in order, each reason holding its text ("": any).
::testing::AssertionResult rejected(const RawDataset& ds, const std::vector<std::pair<int64_t, std::string>>& want) {
    bool ok = ds.rejections.size() == want.size();
    for (size_t i = 0; ok && i < want.size(); ++i)
        ok = ds.rejections[i].line == want[i].first && has(ds.rejections[i].reason, want[i].second);
    if (ok) return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure() << "rejections:";
    for (const Rejection& r : ds.rejections) failure << "\n  line " << r.line << ": " << r.reason;
    return failure;
}

}  // namespace

TEST(DatasetImport, JsonlBrokenLinesAreRejectedWithLineNumbers) {
    peft::test::TempDir d;
    std::string p = write(d, "a.jsonl",
                          "{\"text\": \"one\"}\n"
                          "{\"text\": \"two\"\n"      // 2: bad JSON
                          "\n"                        // 3: blank, skipped silently
                          "[1, 2]\n"                  // 4: not an object
                          "{\"text\": \"five\"}\r\n"  // 5: CRLF ok
                          "   \n"
                          "{\"text\": \"seven\"}");  // 7: no trailing newline
    auto ds = readDatasetFile(p);
    EXPECT_EQ(ds.type, FileType::Jsonl);
    EXPECT_EQ(ds.rowsRead, 5);
    ASSERT_EQ(ds.rows.size(), 3u);
    EXPECT_EQ(ds.rows[0].line, 1);
    EXPECT_EQ(ds.rows[1].line, 5);
    EXPECT_EQ(ds.rows[1].value["text"], "five");
    EXPECT_EQ(ds.rows[2].line, 7);
    EXPECT_TRUE(rejected(ds, {{2, "bad JSON"}, {4, "expected a JSON object"}}));
}

TEST(DatasetImport, StopPolicyThrowsNamingFileAndLine) {
    peft::test::TempDir d;
    std::string p = write(d, "a.jsonl", "{\"text\": \"one\"}\n{oops}\n");
    std::string e = errorOf([&] { readDatasetFile(p, ErrorPolicy::Stop); });
    EXPECT_TRUE(has(e, p + ":2")) << e;
    EXPECT_TRUE(has(e, "bad JSON")) << e;
}

TEST(DatasetImport, JsonArrayElementsKeepTheirLines) {
    peft::test::TempDir d;
    std::string p = write(d, "a.json",
                          "[\n"
                          "  {\"text\": \"a, [b] {c}\"},\n"  // 2
                          "  {\"text\": \"q\\\"x\"},\n"      // 3: escaped quote
                          "  {\"text\": },\n"                // 4: bad
                          "  42,\n"                          // 5: not an object
                          "  {\"text\":\n    \"multi\"}\n"   // 6
                          "]\n");
    auto ds = readDatasetFile(p);
    EXPECT_EQ(ds.type, FileType::Json);
    ASSERT_EQ(ds.rows.size(), 3u);
    EXPECT_EQ(ds.rows[0].line, 2);
    EXPECT_EQ(ds.rows[0].value["text"], "a, [b] {c}");
    EXPECT_EQ(ds.rows[1].line, 3);
    EXPECT_EQ(ds.rows[1].value["text"], "q\"x");
    EXPECT_EQ(ds.rows[2].line, 6);
    EXPECT_TRUE(rejected(ds, {{4, ""}, {5, ""}}));
    // A JSON file that is an object, not an array.
    std::string q = write(d, "b.json", "  \n{\"text\": 1, \"x\": 2}");
    auto ds2 = readDatasetFile(q);  // read as JSONL: a .json holding objects per line
    EXPECT_EQ(ds2.type, FileType::Jsonl);
    std::string r = write(d, "c.json", "\"just a string\"");
    EXPECT_TRUE(has(errorOf([&] { readDatasetFile(r); }), "expected a JSON array"));
}

TEST(DatasetImport, CsvQuoting) {
    peft::test::TempDir d;
    std::string p = write(d, "a.csv",
                          "instruction,input,output\r\n"
                          "\"Add, please\",\"2, 3\",5\r\n"        // 2: commas inside quotes
                          "\"Say \"\"hi\"\"\",,\"\"\"hi\"\"\"\n"  // 3: doubled quotes, empty field
                          "\"Two\nlines\",x,\"a\r\nb\"\n"         // 4-6: newlines inside quotes
                          "only,two\n"                            // 7: wrong field count
                          "bad\"quote,x,y\n"                      // 8: stray quote
                          "\n"                                    // 9: blank
                          "last,row,here");                       // 10
    auto ds = readDatasetFile(p);
    EXPECT_EQ(ds.type, FileType::Csv);
    ASSERT_EQ(ds.rows.size(), 4u);
    EXPECT_TRUE(rowIs(ds.rows[0], 2, {{"instruction", "Add, please"}, {"input", "2, 3"}, {"output", "5"}}));
    EXPECT_TRUE(rowIs(ds.rows[1], 3, {{"instruction", "Say \"hi\""}, {"input", ""}, {"output", "\"hi\""}}));
    EXPECT_TRUE(rowIs(ds.rows[2], 4, {{"instruction", "Two\nlines"}, {"output", "a\r\nb"}}));
    EXPECT_TRUE(rowIs(ds.rows[3], 10, {{"output", "here"}}));
    EXPECT_TRUE(rejected(ds, {{7, "expected 3 fields"}, {8, "quote"}}));
}

TEST(DatasetImport, CsvUnterminatedQuoteAndTsv) {
    peft::test::TempDir d;
    std::string p = write(d, "a.csv", "text,label\nok,1\n\"never closed,2\nmore,3\n");
    auto ds = readDatasetFile(p);
    ASSERT_EQ(ds.rows.size(), 1u);
    EXPECT_TRUE(rejected(ds, {{3, "never closed"}}));

    std::string t = write(d, "a.tsv", "text\tlabel\n\"a\tb\"\tpos\nc,d\tneg\n");
    auto ts = readDatasetFile(t);
    EXPECT_EQ(ts.type, FileType::Tsv);
    ASSERT_EQ(ts.rows.size(), 2u);
    EXPECT_TRUE(rowIs(ts.rows[0], 2, {{"text", "a\tb"}}));
    EXPECT_TRUE(rowIs(ts.rows[1], 3, {{"text", "c,d"}, {"label", "neg"}}));

    std::string h = write(d, "dup.csv", "text,text\na,b\n");
    EXPECT_TRUE(has(errorOf([&] { readDatasetFile(h); }), "appears twice"));
}

TEST(DatasetImport, TxtOneRowPerNonEmptyLine) {
    peft::test::TempDir d;
    std::string p = write(d, "a.txt",
                          "\xEF\xBB\xBF"
                          "first line\r\n\n  \nthird\n");
    auto ds = readDatasetFile(p);
    EXPECT_EQ(ds.type, FileType::Txt);
    ASSERT_EQ(ds.rows.size(), 2u);
    EXPECT_EQ(ds.rows[0].value["text"], "first line");
    EXPECT_EQ(ds.rows[0].line, 1);
    EXPECT_EQ(ds.rows[1].value["text"], "third");
    EXPECT_EQ(ds.rows[1].line, 4);
}

TEST(DatasetImport, EncodingAndFileTypeErrors) {
    peft::test::TempDir d;
    // Encodings and formats that are not text: each error names what the file is.
    struct NotText {
        const char* file;
        std::string bytes;
        std::vector<const char*> says;
    };
    const std::vector<NotText> cases = {
        // UTF-16 LE with BOM: BOM + 11 UTF-16 units (ASan: was 26).
        {"u16.jsonl",
         std::string("\xFF\xFE{\0\"\0t\0\"\0:\0 \0\"\0x\0\"\0}\0\n\0", 24),
         {"UTF-16", "byte-order mark", "UTF-8"}},
        {"u16be.csv", std::string("\xFE\xFF\0a", 4), {"UTF-16 big-endian"}},
        // UTF-16 without a BOM: NULs between ASCII letters.
        {"nobom.txt", std::string("h\0i\0", 4), {"UTF-16"}},
        // A Latin-1 byte on line 3, byte offset 11.
        {"latin.txt", "abc\ndef\ncaf\xE9 x\n", {":3 (byte offset 11)", "invalid UTF-8"}},
        {"bin.jsonl", std::string("\x01\x02\0\0\0\x05", 6), {"binary"}},
        {"z.jsonl", std::string("PK\x03\x04rest", 8), {"ZIP"}},
        {"p.json", "PAR1....", {"Parquet"}},
    };
    for (const NotText& c : cases) {
        const std::string e = errorOf([&] { readDatasetFile(write(d, c.file, c.bytes)); });
        for (const char* say : c.says) EXPECT_TRUE(has(e, say)) << c.file << ": " << e;
    }
    // Overlong encoding and a surrogate are invalid UTF-8; valid multibyte text is fine.
    EXPECT_FALSE(errorOf([&] { readDatasetFile(write(d, "ov.txt", "\xC0\xAF")); }).empty());
    EXPECT_FALSE(errorOf([&] { readDatasetFile(write(d, "sg.txt", "\xED\xA0\x80")); }).empty());
    EXPECT_EQ(readDatasetFile(write(d, "ok.txt", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n")).rows.size(), 1u);
    // Wrong file type by content.
    std::string e7 = errorOf([&] { readDatasetFile(write(d, "csv.jsonl", "text,label\nhello,1\n")); });
    EXPECT_TRUE(has(e7, "does not look like JSONL")) << e7;
    std::string e8 = errorOf([&] { readDatasetFile(write(d, "j.csv", "{\"text\": 1}\n")); });
    EXPECT_TRUE(has(e8, "looks like JSON")) << e8;
    // Missing file, folder.
    EXPECT_TRUE(has(errorOf([&] { readDatasetFile(d.file("none.jsonl")); }), "does not exist"));
    EXPECT_TRUE(has(errorOf([&] { readDatasetFile(d.path()); }), "folder"));
}

TEST(DatasetImport, UnknownExtensionIsSniffed) {
    EXPECT_EQ(detectFileType("x.data", "[{}]"), FileType::Json);
    EXPECT_EQ(detectFileType("x.data", "\n{\"a\":1}\n"), FileType::Jsonl);
    EXPECT_EQ(detectFileType("x.data", "a\tb\n1\t2\n"), FileType::Tsv);
    EXPECT_EQ(detectFileType("x.data", "hello\n"), FileType::Txt);
    EXPECT_EQ(detectFileType("X.JSONL", "[]"), FileType::Jsonl);
}
