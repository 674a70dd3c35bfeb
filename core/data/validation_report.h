// ValidationReport: what the import found (rows, rejections with lines and reasons, token-length
// histogram, truncation, one rendered example with its trained part marked). The GUI shows it;
// the CLI prints it as text or JSON.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/data/chat_template.h"
#include "core/data/dataset_file.h"

namespace peft::data {

struct HistogramBin {
    int64_t lo = 0, hi = 0;  // token lengths in [lo, hi)
    int64_t count = 0;
};

struct ValidationReport {
    std::string file, validationFile;  // validationFile empty when split by ratio
    std::string fileType;              // jsonl | json | csv | tsv | txt
    std::string format;                // text | instruction | chat | classification | tokens | preference
    bool formatDetected = false;       // true when "auto" picked it
    std::string templateName;          // empty when the format needs none or it could not be resolved
    bool templateDetected = false;     // true when recognised from the tokenizer's chat_template
    std::string trainOn;               // responses | all

    int64_t rowsRead = 0, rowsAccepted = 0, rowsRejected = 0;  // both files together
    std::vector<Rejection> rejections;                         // every rejected row, in file order

    bool tokenized = false;  // false without a tokenizer (token statistics then stay empty)
    int64_t maxLength = 0;
    std::vector<HistogramBin> histogram;  // lengths before truncation, accepted rows
    int64_t minTokens = 0, maxTokens = 0;
    double meanTokens = 0;
    int64_t truncatedRows = 0;  // rows longer than max_length (cut; with packing: split over blocks)
    int64_t trainedTokens = 0;  // labels != -100 in the training set after truncation

    bool packing = false;
    int64_t trainExamples = 0, validationExamples = 0;  // after packing: blocks

    std::vector<Segment> example;          // first accepted row rendered; trained segments are the response
    std::vector<Segment> exampleRejected;  // preference pairs: the same row's rejected side (else empty)
    int64_t exampleLine = 0;
    std::vector<std::string> labelNames;  // classification: id -> name
    std::vector<std::string> warnings;

    nlohmann::json toJson() const;
    // Human-readable summary; the example's untrained part is shown inside [[masked: ...]].
    std::string toText(size_t maxRejections = 50) const;
};

// Bins lengths into at most `maxBins` bins of a round width (1, 2, 5 x 10^k), from the bin
// holding the shortest length to the one holding the longest.
std::vector<HistogramBin> makeHistogram(const std::vector<int64_t>& lengths, int maxBins = 10);

}  // namespace peft::data
