// lmsim: agreement of two decodes' logits (quantized vs float).
#pragma once
#include <vector>

namespace lmsim {

struct LogitAgreement {
    double mean_cosine = 0;      // mean over tokens of the cosine similarity of the logit rows
    double top1_agreement = 0;   // fraction of tokens whose argmax agrees
    double max_abs_error = 0;    // worst absolute logit difference
    int tokens = 0;
};

// `a` and `b` hold `rows` logit rows of `vocab` entries each.
LogitAgreement compare_logits(const std::vector<float>& a, const std::vector<float>& b, int vocab);

}  // namespace lmsim
