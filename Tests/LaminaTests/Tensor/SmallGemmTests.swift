import CLaminaKernels
import XCTest

@testable import Lamina

/// Lamina's own kernel for small products (`CLaminaKernels/gemm.h`), which `BLAS.call` uses
/// instead of OpenBLAS for products of at most `LAMINA_SMALL_GEMM_WORK` multiply-adds:
/// values against a Double reference for every transpose, shape class and beta, and the
/// exact summation order gemm.h documents, emulated in Swift bit for bit.
final class SmallGemmTests: XCTestCase {
  /// One product: its shape, transposes, leading dimensions (padded) and random operands.
  struct Case {
    let transA: Bool
    let transB: Bool
    let m: Int
    let n: Int
    let k: Int
    let lda: Int
    let ldb: Int
    let ldc: Int
    let a: [Float]
    let b: [Float]
    let c: [Float]

    init(
      _ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, rng: inout RandomSource,
      ldbPad: Int = 1
    ) {
      (self.transA, self.transB, self.m, self.n, self.k) = (transA, transB, m, n, k)
      lda = (transA ? m : k) + 3
      ldb = (transB ? k : n) + ldbPad
      ldc = n + 2
      a = (0..<((transA ? k : m) * lda + 1)).map { _ in Float(rng.uniform(-1, 1)) }
      b = (0..<((transB ? n : k) * ldb + 1)).map { _ in Float(rng.uniform(-1, 1)) }
      c = (0..<(m * ldc)).map { _ in Float(rng.uniform(-1, 1)) }
    }

    func opA(_ i: Int, _ p: Int) -> Float { transA ? a[p * lda + i] : a[i * lda + p] }
    func opB(_ p: Int, _ j: Int) -> Float { transB ? b[j * ldb + p] : b[p * ldb + j] }

    var label: String { "\(m)x\(n)x\(k) \(transA ? "T" : "N")\(transB ? "T" : "N") ldb \(ldb)" }

    /// The kernel's C (with `portable` the portable kernel, else the AVX2/FMA one); with
    /// beta 0, C's elements start as NaN, which must not be read.
    func run(portable: Bool, alpha: Float, beta: Float) -> [Float] {
      var out = c
      if beta == 0 {
        for i in 0..<m { for j in 0..<n { out[i * ldc + j] = .nan } }
      }
      let (ta, tb): (Int32, Int32) = (transA ? 1 : 0, transB ? 1 : 0)
      a.withUnsafeBufferPointer { ab in
        b.withUnsafeBufferPointer { bb in
          out.withUnsafeMutableBufferPointer { cb in
            let f = portable ? lamina_kernel_sgemm_portable : lamina_kernel_sgemm_fma
            f(
              ta, tb, m, n, k, alpha, ab.baseAddress!, lda, bb.baseAddress!, ldb, beta,
              cb.baseAddress!, ldc)
          }
        }
      }
      return out
    }
  }

  /// Shapes that reach every path of the kernel: register-tile tails (rows not a multiple of
  /// 6, columns not of 16), fewer than 8 columns, one column with and without a contiguous
  /// B, k = 0, k on both sides of the 64 that decides A B^T's path, one element.
  static let shapes: [(m: Int, n: Int, k: Int)] = [
    (1, 1, 1), (7, 5, 3), (13, 17, 70), (6, 16, 64), (5, 33, 65), (100, 1, 64), (1, 100, 200),
    (64, 64, 64), (37, 29, 129), (3, 3, 1000), (4, 9, 0), (12, 7, 64), (11, 2, 65), (2, 40, 8),
  ]

  func testKernelsMatchDoubleReference() {
    var rng = RandomSource(seed: 5)
    for (m, n, k) in Self.shapes {
      for transA in [false, true] {
        for transB in [false, true] {
          for ldbPad in [0, 1] {
            let test = Case(transA, transB, m, n, k, rng: &rng, ldbPad: ldbPad)
            for beta: Float in [0, 1, 0.5] {
              var reference = test.c
              BLASTests.naive(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75, a: test.a,
                lda: test.lda, b: test.b, ldb: test.ldb, beta: beta, c: &reference,
                ldc: test.ldc)
              let kernels = BLAS.smallProductsUseFMA ? [true, false] : [true]
              for portable in kernels {
                let got = test.run(portable: portable, alpha: 0.75, beta: beta)
                let label = "\(test.label) beta \(beta) portable \(portable)"
                for i in 0..<m {
                  for j in 0..<test.ldc {
                    let e = i * test.ldc + j
                    if j >= n {
                      XCTAssertEqual(got[e], test.c[e], "\(label): padding written")
                    } else {
                      let tolerance = 2e-5 * Float(k + 1).squareRoot()
                      XCTAssertEqual(
                        got[e], reference[e], accuracy: tolerance, "\(label) [\(i), \(j)]")
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// The sums gemm.h documents, element by element: in order of k with one fused
  /// multiply-add per term (AVX2/FMA kernel) or one rounded multiply and add (portable),
  /// except where rows of op(A) meet contiguous rows of op(B)^T, which the FMA kernel sums in
  /// eight lanes added as ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)). Then alpha times
  /// the sum, plus beta C, each rounded.
  func testSumsInTheDocumentedOrder() {
    var rng = RandomSource(seed: 9)
    for (m, n, k) in Self.shapes {
      for transA in [false, true] {
        for transB in [false, true] {
          for ldbPad in [0, 1] {
            let test = Case(transA, transB, m, n, k, rng: &rng, ldbPad: ldbPad)
            let lanes =
              !transA && ((transB && (k > 64 || n < 8)) || (!transB && n == 1 && test.ldb == 1))
            for beta: Float in [0, 1, 0.5] {
              let kernels = BLAS.smallProductsUseFMA ? [false, true] : [true]
              for portable in kernels {
                let got = test.run(portable: portable, alpha: 0.75, beta: beta)
                for i in 0..<m {
                  for j in 0..<n {
                    var sum: Float = 0
                    if portable {
                      for p in 0..<k { sum = sum + test.opA(i, p) * test.opB(p, j) }
                    } else if lanes {
                      var lane = [Float](repeating: 0, count: 8)
                      for p in 0..<((k + 7) / 8 * 8) {
                        let (x, y) = p < k ? (test.opA(i, p), test.opB(p, j)) : (0, 0)
                        lane[p % 8].addProduct(x, y)
                      }
                      sum =
                        ((lane[0] + lane[4]) + (lane[2] + lane[6]))
                        + ((lane[1] + lane[5]) + (lane[3] + lane[7]))
                    } else {
                      for p in 0..<k { sum.addProduct(test.opA(i, p), test.opB(p, j)) }
                    }
                    var expected = 0.75 * sum
                    if beta != 0 { expected = expected + beta * test.c[i * test.ldc + j] }
                    let label = "\(test.label) beta \(beta) portable \(portable) [\(i), \(j)]"
                    XCTAssertEqual(
                      got[i * test.ldc + j].bitPattern, expected.bitPattern,
                      "\(label): \(got[i * test.ldc + j]) vs \(expected)")
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// `BLAS.call` runs products up to the bound on the kernel (the same bits) and larger ones
  /// on OpenBLAS; the bound is OpenBLAS's own small-matrix limit, 100^3.
  func testCallUsesTheKernelForSmallProducts() {
    XCTAssertEqual(LAMINA_SMALL_GEMM_WORK, 1_000_000)
    var rng = RandomSource(seed: 3)
    for (m, n, k) in [(100, 100, 100), (250, 16, 250), (4096, 1, 244)] {
      XCTAssertLessThanOrEqual(Double(m * n * k), LAMINA_SMALL_GEMM_WORK)
      for transA in [false, true] {
        for transB in [false, true] {
          let test = Case(transA, transB, m, n, k, rng: &rng)
          let kernel = test.run(portable: !BLAS.smallProductsUseFMA, alpha: 1, beta: 1)
          var called = test.c
          test.a.withUnsafeBufferPointer { ab in
            test.b.withUnsafeBufferPointer { bb in
              called.withUnsafeMutableBufferPointer { cb in
                BLAS.call(
                  transA, transB, m, n, k, 1, ab.baseAddress!, test.lda, bb.baseAddress!,
                  test.ldb, 1, cb.baseAddress!, test.ldc)
              }
            }
          }
          XCTAssertEqual(called, kernel, test.label)
        }
      }
    }
  }
}
