/// Vectorised per-sample work of the KAN layers: the SiLU branch and the B-spline bases of
/// one input for a block of rows, computed eight rows at a time before the (already
/// vectorised) accumulation over the outputs. Without this the scalar per-sample work
/// (exp, interval, Cox-de Boor) costs more than the accumulation itself.
enum KANMath {
  /// e^x for x in [-87, 88] to about 2 ulp (Cephes' expf: range reduction by ln 2 and a
  /// degree-6 polynomial), eight lanes at once with plain float arithmetic, so every lane
  /// gets the same bits whatever its neighbours. Inputs outside the range are clamped.
  @inline(__always)
  static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // Clamped by masks (the generic pointwiseMin/Max are not inlined).
    var clamped = x
    clamped.replace(with: SIMD8(repeating: -87.0), where: x .< -87)
    clamped.replace(with: SIMD8(repeating: 88.0), where: x .> 88)
    // n = round(x / ln 2) by the 1.5 * 2^23 trick: the integer lands in the low mantissa bits.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    let r = clamped - n * 0.693_359_375 - n * -2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    p = p * (r * r) + r + 1
    // 2^n from its exponent bits: (n + 127) << 23, n read from the shifted mantissa.
    let bits = unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- (0x4B40_0000 &- 127)
    return p * unsafeBitCast(bits &<< 23, to: SIMD8<Float>.self)
  }

  /// sigmoid(x) = 1 / (1 + e^-x), eight lanes.
  @inline(__always)
  static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
    1 / (1 + exp(-x))
  }
}

/// Scratch for one block of at most `capacity` rows of one input, in planar layout (all
/// rows' basis t together) so that eight rows fill one vector. `capacity` is a multiple of 8.
/// The block only points into memory its caller borrows from a `ScratchPool`.
struct KANBlock {
  let capacity: Int
  let order: Int
  /// The block's x values, gathered from their strided column.
  let x: UnsafeMutablePointer<Float>
  /// silu(x), or silu'(x) when the block is prepared for input gradients.
  let silu: UnsafeMutablePointer<Float>
  /// silu'(x) besides silu(x), when `prepare` is asked to keep it (training forward passes
  /// that leave the block to backward in a `ForwardCache`).
  let siluPrime: UnsafeMutablePointer<Float>
  /// Knot interval of each row, -1 outside the extended grid.
  let interval: UnsafeMutablePointer<Int>
  /// mu - k as a float, the index of the row's first non-zero basis (-(k + 1) outside the
  /// grid and in padding lanes): lets the dense path place the bases with vector compares.
  let firstBasis: UnsafeMutablePointer<Float>
  /// Local coordinate and inverse interval width (uniform path).
  let u: UnsafeMutablePointer<Float>
  let inverseWidth: UnsafeMutablePointer<Float>
  /// B_{mu-k+t}(x) of row q at values[t * capacity + q]; derivatives likewise.
  let values: UnsafeMutablePointer<Float>
  let derivatives: UnsafeMutablePointer<Float>
  /// Per-row scratch of the scalar evaluator: 3(k + 1) + 2(k + 1) floats.
  let scratch: UnsafeMutablePointer<Float>
  /// Rows grouped by interval (`groupByInterval`): row indices, and the start of each
  /// interval's group (buckets + 1 entries); empty when grouping is off.
  let sorted: UnsafeMutablePointer<Int>
  let groupStart: UnsafeMutablePointer<Int>
  let buckets: Int

  /// Grouping rows by interval pays when intervals are few enough to have several rows each.
  static let maxBuckets = 2048

  /// Rows rounded up to whole vectors, so the last partial vector can be loaded and
  /// stored; also the plane stride, so those stores never spill into the next plane.
  static func paddedRows(_ rows: Int) -> Int { (max(rows, 1) + 7) & ~7 }

  /// Grouping buckets for a grid of `intervals` knot intervals (0: grouping off).
  static func bucketCount(intervals: Int) -> Int { intervals <= maxBuckets ? intervals : 0 }

  /// Scratch bytes a block of these sizes lays out in `init(capacity:order:intervals:memory:)`.
  static func byteCount(capacity rows: Int, order k: Int, intervals: Int = 0) -> Int {
    let padded = paddedRows(rows)
    let buckets = bucketCount(intervals: intervals)
    return 6 * ScratchPool.bytes(Float.self, padded) + ScratchPool.bytes(Int.self, padded)
      + 2 * ScratchPool.bytes(Float.self, (k + 1) * padded)
      + ScratchPool.bytes(Float.self, 5 * (k + 1))
      + ScratchPool.bytes(Int.self, buckets > 0 ? padded : 1)
      + ScratchPool.bytes(Int.self, buckets + 1)
  }

  /// A block laid out in `memory`, `byteCount(capacity:order:intervals:)` bytes of scratch
  /// aligned to `ScratchPool.alignment` that the caller keeps while the block is used.
  init(capacity rows: Int, order k: Int, intervals: Int = 0, memory: UnsafeMutableRawPointer) {
    let padded = Self.paddedRows(rows)
    capacity = padded
    order = k
    buckets = Self.bucketCount(intervals: intervals)
    var cursor = ScratchCursor(memory)
    x = cursor.take(Float.self, padded)
    silu = cursor.take(Float.self, padded)
    siluPrime = cursor.take(Float.self, padded)
    interval = cursor.take(Int.self, padded)
    firstBasis = cursor.take(Float.self, padded)
    u = cursor.take(Float.self, padded)
    inverseWidth = cursor.take(Float.self, padded)
    values = cursor.take(Float.self, (k + 1) * padded)
    derivatives = cursor.take(Float.self, (k + 1) * padded)
    scratch = cursor.take(Float.self, 5 * (k + 1))
    sorted = cursor.take(Int.self, buckets > 0 ? padded : 1)
    groupStart = cursor.take(Int.self, buckets + 1)
  }

  /// Sorts the block's rows inside the grid by interval (stably, a counting sort):
  /// afterwards the rows of interval mu are sorted[groupStart[mu] ..< groupStart[mu + 1]].
  @inline(__always)
  func groupByInterval(count: Int) {
    let g = groupStart
    g.update(repeating: 0, count: buckets + 1)
    for q in 0..<count where interval[q] >= 0 { g[interval[q] + 1] += 1 }
    for m in 0..<buckets { g[m + 1] += g[m] }
    // Place with a moving cursor per bucket (g[m] advances to the end of bucket m), then
    // shift the starts back.
    for q in 0..<count where interval[q] >= 0 {
      let m = interval[q]
      sorted[g[m]] = q
      g[m] += 1
    }
    for m in stride(from: buckets, to: 0, by: -1) { g[m] = g[m - 1] }
    g[0] = 0
  }

  @inline(__always)
  static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
  }

  @inline(__always)
  static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
  }

  /// Fills the block for `count` rows whose x values are column[q * stride]: the SiLU
  /// branch (`siluDerivative` picks silu' instead of silu), the intervals and the k + 1
  /// bases (and their derivatives when `withDerivatives`). Lanes past `count` are computed
  /// on zeros and ignored, so every row's values are the same bits wherever it falls.
  @inline(__always)
  func prepare(
    _ basis: BSpline.InputBasis, column: UnsafePointer<Float>, stride: Int, count: Int,
    siluDerivative: Bool, withDerivatives: Bool, keepSiluPrime: Bool = false
  ) {
    let k = order
    let padded = (count + 7) & ~7
    for q in 0..<count { x[q] = column[q * stride] }
    for q in count..<padded { x[q] = 0 }
    var q = 0
    while q < padded {
      let v = Self.load(x + q)
      let s = KANMath.sigmoid(v)
      Self.store(siluDerivative ? s * (1 + v * (1 - s)) : v * s, silu + q)
      if keepSiluPrime { Self.store(s * (1 + v * (1 - s)), siluPrime + q) }
      q += 8
    }
    let locator = basis.locator
    let t = locator.knots
    let outside = -Float(k + 1)
    if basis.uniform && k == 3 {
      // Interval, local coordinate and inverse width in one pass, the pointers in locals
      // (read through `basis` they were reloaded for every row). The interval is the
      // locator's: the direct guess, checked against the stored knots, searched otherwise.
      let (first, last, inv, m) = (
        locator.first, locator.last, locator.inverseSpacing, locator.intervals
      )
      let widths = basis.reciprocal + k
      let (xs, iv, fb, us, ws) = (x, interval, firstBasis, u, inverseWidth)
      // The direct guesses round((x - t_0) M / (t_M - t_0) - 1/2), eight rows at a time by
      // the 1.5 * 2^23 trick (the integer lands in the low mantissa bits), parked in the
      // `firstBasis` plane; each is checked against the knots below, so a guess that is off
      // (rounding, ties, x outside the grid) only costs the locator's search.
      let guesses = UnsafeMutableRawPointer(fb)
      if inv > 0 {
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let (first8, inv8) = (SIMD8<Float>(repeating: first), SIMD8<Float>(repeating: inv))
        let low = SIMD8<UInt32>(repeating: 0x3F_FFFF)
        var q = 0
        while q < padded {
          let shifted = (Self.load(xs + q) - first8) * inv8 - 0.5 + magic
          guesses.storeBytes(
            of: unsafeBitCast(shifted, to: SIMD8<UInt32>.self) & low, toByteOffset: 4 * q,
            as: SIMD8<UInt32>.self)
          q += 8
        }
      }
      for q in 0..<count {
        let xv = xs[q]
        var mu = -1
        if xv >= first && xv < last {
          let guess = min(Int(guesses.load(fromByteOffset: 4 * q, as: UInt32.self)), m - 1)
          if inv > 0 && t[guess] <= xv && xv < t[guess + 1] {
            mu = guess
          } else {
            mu = locator.interval(xv)
          }
        }
        iv[q] = mu
        if mu >= 0 {
          let w = widths[mu]
          ws[q] = w
          us[q] = (xv - t[mu]) * w
          fb[q] = Float(mu - k)
        } else {
          ws[q] = 0
          us[q] = 0
          fb[q] = outside
        }
      }
      for q in count..<padded {
        iv[q] = -1
        ws[q] = 0
        us[q] = 0
        fb[q] = outside
      }
      // The cardinal cubic pieces, as `InputBasis.evaluate` computes them, eight rows at once.
      let sixth = SIMD8<Float>(repeating: 1.0 / 6.0)
      let c = capacity
      var q = 0
      while q < padded {
        let uv = Self.load(u + q)
        let v = 1 - uv
        let u2 = uv * uv
        let u3 = u2 * uv
        Self.store(v * v * v * sixth, values + q)
        Self.store((3 * u3 - 6 * u2 + 4) * sixth, values + c + q)
        Self.store((-3 * u3 + 3 * u2 + 3 * uv + 1) * sixth, values + 2 * c + q)
        Self.store(u3 * sixth, values + 3 * c + q)
        if withDerivatives {
          let w = Self.load(inverseWidth + q)
          Self.store(-0.5 * v * v * w, derivatives + q)
          Self.store((1.5 * u2 - 2 * uv) * w, derivatives + c + q)
          Self.store((-1.5 * u2 + uv + 0.5) * w, derivatives + 2 * c + q)
          Self.store(0.5 * u2 * w, derivatives + 3 * c + q)
        }
        q += 8
      }
      return
    }
    for q in 0..<count {
      let mu = locator.interval(x[q])
      interval[q] = mu
      firstBasis[q] = mu >= 0 ? Float(mu - k) : outside
    }
    for q in count..<padded { firstBasis[q] = outside }
    let n = scratch + 3 * (k + 1)
    let d = scratch + 4 * (k + 1)
    for q in 0..<count {
      let mu = interval[q]
      guard mu >= 0 else { continue }
      basis.evaluate(
        x[q], interval: mu, values: n, derivatives: withDerivatives ? d : nil, scratch: scratch)
      for r in 0...k { values[r * capacity + q] = n[r] }
      if withDerivatives {
        for r in 0...k { derivatives[r * capacity + q] = d[r] }
      }
    }
  }
}
