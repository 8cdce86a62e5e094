import CLaminaKernels

/// Dense forward for batches below `Dense.smallBatch` rows: the one-sample latency path,
/// where fixed per-call costs, not arithmetic, decide (bench/NOTES.md, "One-sample
/// latency"). `forwardPath(rows:)` chooses among these kernels:
///
/// - Narrow inputs (fewer than `narrowInput` features, such as the 3 coordinates of a field
///   query) accumulate four outputs at once as `bias + sum_k x[k] * W[j..j+3, k]`: no
///   horizontal sums at all, where a dot product per output would be little but its
///   horizontal reduction.
/// - With AVX2/FMA, a matrix-vector kernel of four vector dot products per pass.
/// - Moderate layers use OpenBLAS's `sgemv`, whose runtime-dispatched kernels use the CPU's
///   widest vectors and fused multiply-adds, which a baseline Swift build cannot. Its fixed
///   cost is far below `sgemm`'s (no packing, no thread hand-off).
/// - Otherwise the Swift dot products of `forwardSmall`.
///
/// Results differ from the sgemm path only by float rounding (summation order).
extension Dense {
  /// y = x W^T + b one row at a time by the AVX2/FMA kernel `lamina_dense_matvec_fma`: four
  /// outputs per pass, each a vector dot product, with none of sgemv's fixed cost.
  func forwardMatvecFMA(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int
  ) {
    let (inp, out) = (inputDim, outputDim)
    weight.value.withUnsafeBufferPointer { wb in
      withBiasPointer { b in
        for r in 0..<n {
          lamina_dense_matvec_fma(inp, out, x + r * inp, wb.baseAddress!, inp, b, y + r * out)
        }
      }
    }
  }

  /// y = x W^T + b by `sgemv`, one row at a time: y starts as the bias (or zeros, so that
  /// uninitialised scratch never reaches the result through beta * y) and beta is 1.
  func forwardGEMV(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    let (inp, out) = (inputDim, outputDim)
    if let bias {
      bias.value.withUnsafeBufferPointer { b in
        for r in 0..<n { (y + r * out).update(from: b.baseAddress!, count: out) }
      }
    } else {
      y.update(repeating: 0, count: n * out)
    }
    weight.value.withUnsafeBufferPointer { wb in
      for r in 0..<n {
        BLAS.gemv(
          trans: false, m: out, n: inp, alpha: 1, wb.baseAddress!, lda: inp, x + r * inp,
          beta: 1, y + r * out)
      }
    }
  }

  /// y = x W^T + b for inputs of fewer than `narrowInput` features: four outputs per pass,
  /// each lane one output, each step over k a broadcast of x[k] times a column of four
  /// weights. The bias is the accumulator's starting value.
  func forwardNarrow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    let (inp, out) = (inputDim, outputDim)
    // Offsets of rows j+1, j+2, j+3 from row j. Pointer steps and wrapping arithmetic keep
    // overflow checks out of the loop (the sizes were validated when the model was built).
    let (o1, o2, o3) = (inp, inp &* 2, inp &* 3)
    let blockStep = inp &* 4
    weight.value.withUnsafeBufferPointer { wb in
      let w = wb.baseAddress!
      withBiasPointer { b in
        for r in 0..<n {
          let xr = x + r &* inp
          let xEnd = xr + inp
          let yr = y + r &* out
          var j = 0
          var wj = w
          while j &+ 4 <= out {
            var acc = SIMD4<Float>.zero
            if let b { acc = UnsafeRawPointer(b + j).loadUnaligned(as: SIMD4<Float>.self) }
            var wk = wj
            var xk = xr
            while xk < xEnd {
              acc += xk.pointee * SIMD4<Float>(wk[0], wk[o1], wk[o2], wk[o3])
              wk += 1
              xk += 1
            }
            UnsafeMutableRawPointer(yr + j).storeBytes(of: acc, as: SIMD4<Float>.self)
            j &+= 4
            wj += blockStep
          }
          while j < out {
            var s = b?[j] ?? 0
            var wk = wj
            var xk = xr
            while xk < xEnd {
              s += xk.pointee * wk.pointee
              wk += 1
              xk += 1
            }
            yr[j] = s
            j &+= 1
            wj += inp
          }
        }
      }
    }
  }
}
