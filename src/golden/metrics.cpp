#include "golden/metrics.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace lmsim {

LogitAgreement compare_logits(const std::vector<float>& a, const std::vector<float>& b, int vocab) {
    if (a.size() != b.size() || vocab <= 0 || a.size() % vocab)
        throw InputError("compare_logits: logit arrays of different shapes");
    LogitAgreement r;
    r.tokens = static_cast<int>(a.size() / vocab);
    for (int t = 0; t < r.tokens; ++t) {
        const float* x = &a[static_cast<std::size_t>(t) * vocab];
        const float* y = &b[static_cast<std::size_t>(t) * vocab];
        double dot = 0, nx = 0, ny = 0;
        for (int v = 0; v < vocab; ++v) {
            dot += static_cast<double>(x[v]) * y[v];
            nx += static_cast<double>(x[v]) * x[v];
            ny += static_cast<double>(y[v]) * y[v];
            r.max_abs_error = std::max(r.max_abs_error, static_cast<double>(std::fabs(x[v] - y[v])));
        }
        r.mean_cosine += (nx > 0 && ny > 0) ? dot / std::sqrt(nx * ny) : (nx == ny ? 1.0 : 0.0);
        r.top1_agreement += (std::max_element(x, x + vocab) - x) == (std::max_element(y, y + vocab) - y);
    }
    if (r.tokens) {
        r.mean_cosine /= r.tokens;
        r.top1_agreement /= r.tokens;
    }
    return r;
}

}  // namespace lmsim
