import CBLAS

/// Thin, typed wrappers over the OpenBLAS calls the engine uses. All matrices are row-major.
enum BLAS {
  /// C = alpha * op(A) op(B) + beta * C, where op transposes when asked.
  /// op(A) is m x k, op(B) is k x n, C is m x n.
  @inline(__always)
  static func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
    beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c,
      blasint(ldc))
  }

  /// y = alpha * op(A) x + beta * y for one vector, where A is m x n (row-major, leading
  /// dimension lda) and op transposes when asked; x and y are contiguous.
  @inline(__always)
  static func gemv(
    trans: Bool, m: Int, n: Int, alpha: Float, _ a: UnsafePointer<Float>, lda: Int,
    _ x: UnsafePointer<Float>, beta: Float, _ y: UnsafeMutablePointer<Float>
  ) {
    cblas_sgemv(
      CblasRowMajor, trans ? CblasTrans : CblasNoTrans, blasint(m), blasint(n), alpha, a,
      blasint(lda), x, 1, beta, y, 1)
  }
}
