#include "golden/hadamard.h"

#include <fmt/format.h>

#include <map>

#include "common/error.h"

namespace lmsim {
namespace {

// Paley construction I for a prime q = 3 (mod 4): order q + 1.
std::vector<int8_t> paley1(int q) {
    std::vector<int> chi(q, -1);
    chi[0] = 0;
    for (int x = 1; x < q; ++x) chi[(x * x) % q] = 1;
    int n = q + 1;
    std::vector<int8_t> h(static_cast<std::size_t>(n) * n);
    // S = [[0, 1^T], [-1, Q]] with Q[i][j] = chi(j - i); H = I + S.
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
            int s;
            if (i == 0 && j == 0) s = 0;
            else if (i == 0) s = 1;
            else if (j == 0) s = -1;
            else s = chi[((j - i) % q + q) % q];
            h[i * n + j] = static_cast<int8_t>(s + (i == j ? 1 : 0));
        }
    return h;
}

std::vector<int8_t> kron(const std::vector<int8_t>& a, int na, const std::vector<int8_t>& b, int nb) {
    int n = na * nb;
    std::vector<int8_t> h(static_cast<std::size_t>(n) * n);
    for (int i = 0; i < na; ++i)
        for (int j = 0; j < na; ++j)
            for (int k = 0; k < nb; ++k)
                for (int l = 0; l < nb; ++l)
                    h[(i * nb + k) * n + (j * nb + l)] =
                        static_cast<int8_t>(a[i * na + j] * b[k * nb + l]);
    return h;
}

const std::vector<int8_t>& dense_cached(int k) {
    static const std::map<int, std::vector<int8_t>> cache = [] {
        std::map<int, std::vector<int8_t>> m;
        m[1] = {1};
        m[2] = {1, 1, 1, -1};
        m[12] = paley1(11);
        m[20] = paley1(19);
        m[40] = kron(m[2], 2, m[20], 20);
        return m;
    }();
    auto it = cache.find(k);
    if (it == cache.end()) throw InputError(fmt::format("no Hadamard matrix of order {}", k));
    return it->second;
}

template <typename T>
void transform(T* v, int n) {
    HadamardShape s = hadamard_shape(n);
    const int M = s.butterfly, K = s.dense;
    // Butterfly stages inside each block of M (index = a * M + b).
    for (int a = 0; a < K; ++a) {
        T* blk = v + static_cast<std::size_t>(a) * M;
        for (int len = 1; len < M; len <<= 1)
            for (int i = 0; i < M; i += 2 * len)
                for (int j = i; j < i + len; ++j) {
                    T x = blk[j], y = blk[j + len];
                    blk[j] = x + y;
                    blk[j + len] = x - y;
                }
    }
    if (K == 1) return;
    // Dense +-1 stage across the K blocks.
    const std::vector<int8_t>& h = dense_cached(K);
    std::vector<T> col(K), out(K);
    for (int b = 0; b < M; ++b) {
        for (int a = 0; a < K; ++a) col[a] = v[static_cast<std::size_t>(a) * M + b];
        for (int i = 0; i < K; ++i) {
            T acc = 0;
            for (int j = 0; j < K; ++j) acc = h[i * K + j] > 0 ? acc + col[j] : acc - col[j];
            out[i] = acc;
        }
        for (int a = 0; a < K; ++a) v[static_cast<std::size_t>(a) * M + b] = out[a];
    }
}

}  // namespace

HadamardShape hadamard_shape(int n) {
    // 40 * 2^m is handled as 20 * 2^(m+1): H_40 = H_2 (x) H_20, the H_2 joins the butterflies.
    for (int k : {1, 12, 20}) {
        if (n % k) continue;
        int m = n / k;
        if (m > 0 && (m & (m - 1)) == 0) return {k, m};
    }
    throw InputError(fmt::format("no Hadamard transform of size {} (need K * 2^m, K in 1, 12, "
                                 "20, 40)", n));
}

bool has_hadamard(int n) {
    try {
        hadamard_shape(n);
        return true;
    } catch (const InputError&) {
        return false;
    }
}

std::vector<int8_t> hadamard_dense(int k) { return dense_cached(k); }

std::vector<int8_t> hadamard_matrix(int n) {
    HadamardShape s = hadamard_shape(n);
    std::vector<int8_t> m = {1};
    int order = 1;
    while (order < s.butterfly) {
        m = kron(m, order, dense_cached(2), 2);
        order *= 2;
    }
    return kron(dense_cached(s.dense), s.dense, m, s.butterfly);
}

void hadamard_transform(int64_t* v, int n) { transform(v, n); }
void hadamard_transform(float* v, int n) { transform(v, n); }
void hadamard_transform(double* v, int n) { transform(v, n); }

long long hadamard_add_count(int n) {
    HadamardShape s = hadamard_shape(n);
    int log2m = 0;
    while ((1 << log2m) < s.butterfly) ++log2m;
    return 1LL * n * log2m + 1LL * s.butterfly * s.dense * (s.dense - 1);
}

}  // namespace lmsim
