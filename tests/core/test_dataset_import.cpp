// Dataset file import: broken JSONL lines, JSON arrays, CSV/TSV quoting, TXT, encodings, policies.
#include <gtest/gtest.h>

#include <fstream>

#include "core/data/dataset_file.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft::data;

using peft::test::write;
using peft::test::errorOf;

namespace {

bool has(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

}  // namespace

TEST(DatasetImport, JsonlBrokenLinesAreRejectedWithLineNumbers) {
    peft::test::TempDir d;
    std::string p = write(d, "a.jsonl",
                          "{\"text\": \"one\"}\n"
                          "{\"text\": \"two\"\n"         // 2: bad JSON
                          "\n"                           // 3: blank, skipped silently
                          "[1, 2]\n"                     // 4: not an object
                          "{\"text\": \"five\"}\r\n"     // 5: CRLF ok
                          "   \n"
                          "{\"text\": \"seven\"}");     // 7: no trailing newline
    auto ds = readDatasetFile(p);
    EXPECT_EQ(ds.type, FileType::Jsonl);
    EXPECT_EQ(ds.rowsRead, 5);
    ASSERT_EQ(ds.rows.size(), 3u);
    EXPECT_EQ(ds.rows[0].line, 1);
    EXPECT_EQ(ds.rows[1].line, 5);
    EXPECT_EQ(ds.rows[1].value["text"], "five");
    EXPECT_EQ(ds.rows[2].line, 7);
    ASSERT_EQ(ds.rejections.size(), 2u);
    EXPECT_EQ(ds.rejections[0].line, 2);
    EXPECT_TRUE(has(ds.rejections[0].reason, "bad JSON")) << ds.rejections[0].reason;
    EXPECT_EQ(ds.rejections[1].line, 4);
    EXPECT_TRUE(has(ds.rejections[1].reason, "expected a JSON object")) << ds.rejections[1].reason;
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
                          "  {\"text\": \"q\\\"x\"},\n"       // 3: escaped quote
                          "  {\"text\": },\n"                 // 4: bad
                          "  42,\n"                           // 5: not an object
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
    ASSERT_EQ(ds.rejections.size(), 2u);
    EXPECT_EQ(ds.rejections[0].line, 4);
    EXPECT_EQ(ds.rejections[1].line, 5);
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
                          "\"Add, please\",\"2, 3\",5\r\n"                  // 2: commas inside quotes
                          "\"Say \"\"hi\"\"\",,\"\"\"hi\"\"\"\n"           // 3: doubled quotes, empty field
                          "\"Two\nlines\",x,\"a\r\nb\"\n"                   // 4-6: newlines inside quotes
                          "only,two\n"                                      // 7: wrong field count
                          "bad\"quote,x,y\n"                                // 8: stray quote
                          "\n"                                              // 9: blank
                          "last,row,here");                                 // 10
    auto ds = readDatasetFile(p);
    EXPECT_EQ(ds.type, FileType::Csv);
    ASSERT_EQ(ds.rows.size(), 4u);
    EXPECT_EQ(ds.rows[0].value["instruction"], "Add, please");
    EXPECT_EQ(ds.rows[0].value["input"], "2, 3");
    EXPECT_EQ(ds.rows[0].value["output"], "5");
    EXPECT_EQ(ds.rows[0].line, 2);
    EXPECT_EQ(ds.rows[1].value["instruction"], "Say \"hi\"");
    EXPECT_EQ(ds.rows[1].value["input"], "");
    EXPECT_EQ(ds.rows[1].value["output"], "\"hi\"");
    EXPECT_EQ(ds.rows[2].value["instruction"], "Two\nlines");
    EXPECT_EQ(ds.rows[2].value["output"], "a\r\nb");
    EXPECT_EQ(ds.rows[2].line, 4);
    EXPECT_EQ(ds.rows[3].line, 10);
    EXPECT_EQ(ds.rows[3].value["output"], "here");
    ASSERT_EQ(ds.rejections.size(), 2u);
    EXPECT_EQ(ds.rejections[0].line, 7);
    EXPECT_TRUE(has(ds.rejections[0].reason, "expected 3 fields")) << ds.rejections[0].reason;
    EXPECT_EQ(ds.rejections[1].line, 8);
    EXPECT_TRUE(has(ds.rejections[1].reason, "quote")) << ds.rejections[1].reason;
}

TEST(DatasetImport, CsvUnterminatedQuoteAndTsv) {
    peft::test::TempDir d;
    std::string p = write(d, "a.csv", "text,label\nok,1\n\"never closed,2\nmore,3\n");
    auto ds = readDatasetFile(p);
    ASSERT_EQ(ds.rows.size(), 1u);
    ASSERT_EQ(ds.rejections.size(), 1u);
    EXPECT_EQ(ds.rejections[0].line, 3);
    EXPECT_TRUE(has(ds.rejections[0].reason, "never closed")) << ds.rejections[0].reason;

    std::string t = write(d, "a.tsv", "text\tlabel\n\"a\tb\"\tpos\nc,d\tneg\n");
    auto ts = readDatasetFile(t);
    EXPECT_EQ(ts.type, FileType::Tsv);
    ASSERT_EQ(ts.rows.size(), 2u);
    EXPECT_EQ(ts.rows[0].value["text"], "a\tb");
    EXPECT_EQ(ts.rows[1].value["text"], "c,d");
    EXPECT_EQ(ts.rows[1].value["label"], "neg");

    std::string h = write(d, "dup.csv", "text,text\na,b\n");
    EXPECT_TRUE(has(errorOf([&] { readDatasetFile(h); }), "appears twice"));
}

TEST(DatasetImport, TxtOneRowPerNonEmptyLine) {
    peft::test::TempDir d;
    std::string p = write(d, "a.txt", "\xEF\xBB\xBF" "first line\r\n\n  \nthird\n");
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
        {"u16.jsonl", std::string("\xFF\xFE{\0\"\0t\0\"\0:\0 \0\"\0x\0\"\0}\0\n\0", 24), {"UTF-16", "byte-order mark", "UTF-8"}},
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
