// lmsim: Hadamard matrices and transforms for sizes n = K * 2^m with K in {1, 12, 20, 40}, as
// the Kronecker product H_K (x) H_{2^m}: a dense K x K +-1 stage plus m butterfly stages (the
// paper's HTU for 5120 = 40 x 128). H_12 and H_20 come from Paley's construction I (q = 11, 19);
// H_40 = H_2 (x) H_20.
#pragma once
#include <cstdint>
#include <vector>

namespace lmsim {

struct HadamardShape {
    int dense = 1;      // K
    int butterfly = 1;  // 2^m
};
// Throws InputError when n is not K * 2^m with K in {1, 12, 20, 40}.
HadamardShape hadamard_shape(int n);
bool has_hadamard(int n);

// The dense K x K +-1 matrix (row-major), K in {1, 2, 12, 20, 40}.
std::vector<int8_t> hadamard_dense(int k);
// The full n x n +-1 matrix (for tests and small sizes).
std::vector<int8_t> hadamard_matrix(int n);

// v <- H_n v, unnormalised, in place (integer or float).
void hadamard_transform(int64_t* v, int n);
void hadamard_transform(float* v, int n);
void hadamard_transform(double* v, int n);

// Additions and subtractions of one unnormalised transform (the HTU's work).
long long hadamard_add_count(int n);

}  // namespace lmsim
