/// The two loops `KANEdgeJet` needs from bases whose edges are linear in their coefficients,
/// phi_ij(x) = sum_m c_ijm b_m(x) (Chebyshev, Fourier, RBF, and the linear map of the
/// rational basis): phi^(p)_ij = sum_m c_ijm b_m^(p) and dphi^(p)_ij / dc_ijm = b_m^(p). The
/// basis writes its functions' derivatives per row; one tensor's coefficients of input i
/// are then read at `coefficients[j * outputStride + m]` (the caller offsets the pointer
/// to input i and to its first basis), so every layout the bases use is one call.
enum KANLinearEdgeJet {
  /// Adds sum_m bases[(r * orders + p - 1) * rowStride + m] * c[j * outputStride + m],
  /// m < `width`, to table[((p - 1) * count + r) * outputs + j] for p = 1 ... orders.
  @inline(__always)
  static func contract(
    bases: UnsafePointer<Double>, rowStride: Int, width: Int, count: Int, orders: Int,
    coefficients c: UnsafePointer<Float>, outputs: Int, outputStride: Int,
    into table: UnsafeMutablePointer<Float>
  ) {
    for r in 0..<count {
      for p in 1...orders {
        let b = bases + (r * orders + p - 1) * rowStride
        let row = table + ((p - 1) * count + r) * outputs
        for j in 0..<outputs {
          let cj = c + j * outputStride
          var acc = 0.0
          for m in 0..<width { acc += Double(cj[m]) * b[m] }
          row[j] += Float(acc)
        }
      }
    }
  }

  /// Adds sum_r sum_p adjoints[((p - 1) * count + r) * outputs + j]
  /// * bases[(r * orders + p - 1) * rowStride + m] to gradient[j * outputStride + m].
  @inline(__always)
  static func accumulate(
    bases: UnsafePointer<Double>, rowStride: Int, width: Int, count: Int, orders: Int,
    adjoints: UnsafePointer<Float>, outputs: Int, outputStride: Int,
    into gradient: UnsafeMutablePointer<Float>
  ) {
    for j in 0..<outputs {
      let gj = gradient + j * outputStride
      for m in 0..<width {
        var acc = 0.0
        for r in 0..<count {
          for p in 1...orders {
            acc +=
              Double(adjoints[((p - 1) * count + r) * outputs + j])
              * bases[(r * orders + p - 1) * rowStride + m]
          }
        }
        gj[m] += Float(acc)
      }
    }
  }

  /// Doubles of basis derivatives for `rows` rows of `width` functions at up to 3 orders,
  /// in floats of `KANEdgeJet` scratch (two per Double, plus one for alignment).
  static func scratchFloats(rows: Int, width: Int) -> Int { 2 * rows * 3 * width + 2 }

  /// The scratch as Doubles (the pool's buffers are 64-byte aligned).
  @inline(__always)
  static func doubles(_ scratch: UnsafeMutablePointer<Float>, count: Int)
    -> UnsafeMutablePointer<Double>
  {
    UnsafeMutableRawPointer(scratch).bindMemory(to: Double.self, capacity: count)
  }
}
