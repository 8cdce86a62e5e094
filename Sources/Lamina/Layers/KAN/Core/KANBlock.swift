import CLaminaKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Vectorised per-sample work of the KAN layers: the base branch and the B-spline bases of
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
  /// The base branch b(x) (silu(x) unless the layer's "base_fun" names another), or b'(x)
  /// when the block is prepared for input gradients.
  let silu: UnsafeMutablePointer<Float>
  /// b'(x) besides b(x), when `prepare` is asked to keep it (training forward passes
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
  /// Gather planes of the vectorised general path (`laneFloats`): for a chunk of
  /// `gatherRows` rows, the knots and reciprocals each row's Cox-de Boor triangle reads,
  /// stored row by row and then read eight rows at a time, so the triangle runs on whole
  /// vectors. (Gathering a whole chunk before reading it keeps the vector loads from
  /// waiting on the scalar stores just made, as inserting lanes one by one did.)
  let lanes: UnsafeMutablePointer<Float>
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

  /// Rows per chunk of the general path's gather planes.
  static let gatherRows = 32

  /// Floats of the gather planes: the 2k knots t_{mu-k+1} ... t_{mu+k}, the k(k + 1) / 2
  /// reciprocals of the triangle and the k + 1 of the derivatives, `gatherRows` rows each.
  static func laneFloats(order k: Int) -> Int {
    gatherRows * (2 * k + k * (k + 1) / 2 + k + 1)
  }

  /// Largest extended grid (intervals) whose rows find their interval by counting the knots
  /// at or below x in vectors (M - 1 compares per eight rows) rather than by binary search.
  static let countedIntervals = 64

  /// Scratch bytes a block of these sizes lays out in `init(capacity:order:intervals:memory:)`.
  static func byteCount(capacity rows: Int, order k: Int, intervals: Int = 0) -> Int {
    let padded = paddedRows(rows)
    let buckets = bucketCount(intervals: intervals)
    return 6 * ScratchPool.bytes(Float.self, padded) + ScratchPool.bytes(Int.self, padded)
      + 2 * ScratchPool.bytes(Float.self, (k + 1) * padded)
      + ScratchPool.bytes(Float.self, 5 * (k + 1))
      + ScratchPool.bytes(Float.self, laneFloats(order: k))
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
    lanes = cursor.take(Float.self, Self.laneFloats(order: k))
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

  /// Whether the uniform cubic path runs the AVX2 kernels of CLaminaKernels/kan.h (the
  /// same bits as the Swift SIMD8 code); on when the CPU has AVX2 and FMA. Tests switch it
  /// off to compare the two paths.
  static var useAVX2 = CPUFeatures.hasAVX2FMA

  /// Row q of a uniform cubic block with interval `mu` (>= 0): inverse width, local
  /// coordinate, first basis and the four bases (and derivatives), by the same operations
  /// as one lane of `prepare`'s SIMD8 code.
  func cubicRow(
    _ q: Int, mu: Int, x xv: Float, knots t: UnsafePointer<Float>, widths: UnsafePointer<Float>,
    derivatives withDerivatives: Bool
  ) {
    let c = capacity
    let w = widths[mu]
    inverseWidth[q] = w
    let uv = (xv - t[mu]) * w
    u[q] = uv
    firstBasis[q] = Float(mu - 3)
    let sixth: Float = 1.0 / 6.0
    let v = 1 - uv
    let u2 = uv * uv
    let u3 = u2 * uv
    values[q] = v * v * v * sixth
    values[c + q] = (3 * u3 - 6 * u2 + 4) * sixth
    values[2 * c + q] = (-3 * u3 + 3 * u2 + 3 * uv + 1) * sixth
    values[3 * c + q] = u3 * sixth
    if withDerivatives {
      derivatives[q] = -0.5 * v * v * w
      derivatives[c + q] = (1.5 * u2 - 2 * uv) * w
      derivatives[2 * c + q] = (-1.5 * u2 + uv + 0.5) * w
      derivatives[3 * c + q] = 0.5 * u2 * w
    }
  }

  /// Fills the block for `count` rows whose x values are column[q * stride]: the base
  /// branch b = `base` (SiLU unless the layer's "base_fun" says otherwise;
  /// `siluDerivative` picks b' instead of b), the intervals and the k + 1
  /// bases (and their derivatives when `withDerivatives`). Lanes past `count` are computed
  /// on zeros and ignored, so every row's values are the same bits wherever it falls.
  ///
  /// `vectorized: false` evaluates non-uniform knots row by row with
  /// `InputBasis.evaluate` (the reference the vectorised path matches to the bit; tests).
  @inline(__always)
  func prepare(
    _ basis: BSpline.InputBasis, column: UnsafePointer<Float>, stride: Int, count: Int,
    base: BSplineKANLayer.BaseFunction, siluDerivative: Bool, withDerivatives: Bool,
    keepSiluPrime: Bool = false,
    vectorized: Bool = true
  ) {
    let k = order
    let padded = (count + 7) & ~7
    for q in 0..<count { x[q] = column[q * stride] }
    for q in count..<padded { x[q] = 0 }
    base.write(
      x, count: padded, derivative: siluDerivative, into: silu,
      prime: keepSiluPrime ? siluPrime : nil)
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
      if vectorized && inv > 0 && Self.useAVX2 {
        // The same operations in AVX2 (CLaminaKernels/kan.h); rows whose direct guess the
        // knots reject are redone here with the locator's search.
        let rejected = lamina_kan_cubic_uniform(
          count, padded, xs, first, last, inv, m, t, widths, iv, fb, us, ws, values,
          withDerivatives ? derivatives : nil, capacity)
        if rejected > 0 {
          for q in 0..<count where iv[q] == -2 {
            let mu = locator.interval(xs[q])
            iv[q] = mu
            if mu >= 0 {
              cubicRow(q, mu: mu, x: xs[q], knots: t, widths: widths, derivatives: withDerivatives)
            }
          }
        }
        return
      }
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
          let shifted = (load8(xs + q) - first8) * inv8 - 0.5 + magic
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
        let uv = load8(u + q)
        let v = 1 - uv
        let u2 = uv * uv
        let u3 = u2 * uv
        store8(v * v * v * sixth, values + q)
        store8((3 * u3 - 6 * u2 + 4) * sixth, values + c + q)
        store8((-3 * u3 + 3 * u2 + 3 * uv + 1) * sixth, values + 2 * c + q)
        store8(u3 * sixth, values + 3 * c + q)
        if withDerivatives {
          let w = load8(inverseWidth + q)
          store8(-0.5 * v * v * w, derivatives + q)
          store8((1.5 * u2 - 2 * uv) * w, derivatives + c + q)
          store8((-1.5 * u2 + uv + 0.5) * w, derivatives + 2 * c + q)
          store8(0.5 * u2 * w, derivatives + 3 * c + q)
        }
        q += 8
      }
      return
    }
    if vectorized && !basis.uniform {
      prepareGeneral(basis, count: count, withDerivatives: withDerivatives)
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

  /// The intervals and the k + 1 bases (and derivatives) of the block's rows on general
  /// (non-uniform) knots, eight rows at a time: each lane's knots and reciprocals are
  /// gathered into the `lanes` planes, then the Cox-de Boor triangle of
  /// `InputBasis.evaluate` runs on vectors with the same operations in the same order, so
  /// every row gets the scalar path's bits. `x` is filled (zero-padded to whole vectors).
  ///
  /// Rows outside the grid (and padding lanes) get interval -1 and all-zero bases. The
  /// vector code uses only arithmetic and integer bit operations: Swift's SIMD comparisons
  /// (masks) compiled to lane-by-lane loops through the stack here, slower than scalar code.
  @inline(__always)
  func prepareGeneral(_ basis: BSpline.InputBasis, count: Int, withDerivatives: Bool) {
    let k = order
    let c = capacity
    let padded = (count + 7) & ~7
    let locator = basis.locator
    let (t, m) = (locator.knots, locator.intervals)
    let (first, last) = (locator.first, locator.last)
    // Per row all ones inside the grid, 0 outside: the general path's use of the `u` plane.
    let keep = UnsafeMutableRawPointer(u)
    // The count reads a sign bit: under round-toward-negative x - x is -0 and -0 + 0 stays
    // -0, which would put rows exactly on a knot one interval low, so a host that set that
    // mode gets the binary search (any other mode, flush-to-zero included, is safe).
    if basis.sorted && m <= Self.countedIntervals && fegetround() != FE_DOWNWARD {
      // On sorted knots x's interval is the number of knots t_1 ... t_{M-1} at or below x
      // (the binary search's answer: the largest i with t_i <= x), counted in vectors as
      // M - 1 minus the knots above x: x - t_i has its sign bit set exactly when x < t_i
      // (x == t_i gives +0). Adding +0 first turns x = -0 into +0, so that -0 - (+0) does
      // not come out as -0 (a knot at 0 is at or below x = -0). Rows outside the grid, NaN
      // included, are caught below.
      let below = UnsafeMutableRawPointer(inverseWidth)
      var q = 0
      while q < padded {
        let xv = load8(x + q) + 0
        var above = SIMD8<UInt32>(repeating: 0)
        for i in 1..<max(m, 1) {
          above &+= unsafeBitCast(xv - SIMD8(repeating: t[i]), to: SIMD8<UInt32>.self) &>> 31
        }
        below.storeBytes(of: above, toByteOffset: 4 * q, as: SIMD8<UInt32>.self)
        q += 8
      }
      for q in 0..<count {
        let xv = x[q]
        let inside = xv >= first && xv < last
        let mu = inside ? m - 1 - Int(below.load(fromByteOffset: 4 * q, as: UInt32.self)) : -1
        interval[q] = mu
        firstBasis[q] = Float(inside ? mu - k : -(k + 1))
        keep.storeBytes(of: inside ? ~0 : 0, toByteOffset: 4 * q, as: UInt32.self)
      }
    } else {
      for q in 0..<count {
        let mu = locator.interval(x[q])
        interval[q] = mu
        firstBasis[q] = Float(mu >= 0 ? mu - k : -(k + 1))
        keep.storeBytes(of: mu >= 0 ? ~0 : 0, toByteOffset: 4 * q, as: UInt32.self)
      }
    }
    for q in count..<padded {
      interval[q] = -1
      firstBasis[q] = -Float(k + 1)
      keep.storeBytes(of: 0, toByteOffset: 4 * q, as: UInt32.self)
    }
    @inline(__always)
    func masked(_ v: SIMD8<Float>, _ q: Int) -> SIMD8<Float> {
      let bits = unsafeBitCast(v, to: SIMD8<UInt32>.self)
      return unsafeBitCast(
        bits & keep.loadUnaligned(fromByteOffset: 4 * q, as: SIMD8<UInt32>.self),
        to: SIMD8<Float>.self)
    }
    let zero = SIMD8<Float>(repeating: 0)
    guard k > 0 else {
      var q = 0
      while q < padded {
        store8(masked(SIMD8(repeating: 1), q), values + q)
        if withDerivatives { store8(zero, derivatives + q) }
        q += 8
      }
      return
    }
    // Planes (`gatherRows` floats each): knots[i] = t_{mu-k+1+i} (i < 2k), then the
    // triangle's reciprocals 1 / (t_{a+j} - t_a), a = mu + 1 - j + r (j = 1 ... k, r < j,
    // in that order), then the derivative row's, a = mu - k + r (r = 0 ... k).
    let w = Self.gatherRows
    let knots = lanes
    let triangle = lanes + w * 2 * k
    let slope = triangle + w * (k * (k + 1) / 2)
    let reciprocal = basis.reciprocal
    let rs = basis.stride
    var start = 0
    while start < padded {
      let rows = min(w, padded - start)
      if k == 3 {
        cubicGeneral(start, rows: rows, basis, withDerivatives: withDerivatives, mask: masked)
        start += rows
        continue
      }
      for l in 0..<rows {
        // Rows outside the grid read interval 0's (finite) values and are zeroed below.
        let mu = max(interval[start + l], 0)
        for i in 0..<(2 * k) { knots[w * i + l] = BSpline.knot(t, mu - k + 1 + i, m) }
        var o = 0
        for j in 1...k {
          let row = reciprocal + (j - 1) * rs + k + mu + 1 - j
          for r in 0..<j { triangle[w * (o + r) + l] = row[r] }
          o += j
        }
        if withDerivatives {
          let row = reciprocal + (k - 1) * rs + mu
          for r in 0...k { slope[w * r + l] = row[r] }
        }
      }
      var l = 0
      while l < rows {
        let q = start + l
        let xv = load8(x + q)
        store8(SIMD8(repeating: 1), values + q)
        var o = 0
        for j in 1...k {
          if j == k && withDerivatives {
            // The order k - 1 bases, kept (in the derivative planes) for the derivatives.
            for r in 0..<k { store8(load8(values + r * c + q), derivatives + r * c + q) }
          }
          // As `InputBasis.evaluate`: right[r + 1] = t_{mu+r+1} - x, left[j - r] =
          // x - t_{mu+1-j+r}, temp = n[r] / (t_{mu+1+r} - t_{mu+1-j+r}).
          var saved = zero
          for r in 0..<j {
            let temp = load8(values + r * c + q) * load8(triangle + w * (o + r) + l)
            let right = load8(knots + w * (k + r) + l) - xv
            let left = xv - load8(knots + w * (k - j + r) + l)
            store8(saved + right * temp, values + r * c + q)
            saved = left * temp
          }
          store8(saved, values + j * c + q)
          o += j
        }
        if withDerivatives {
          // d[r] = k (lower[r - 1] / (t_{a+k} - t_a) - lower[r] / (...)), in place from the
          // top: plane r still holds lower[r] when d[r] is computed, and lower[r - 1] stays.
          let kf = SIMD8<Float>(repeating: Float(k))
          for r in stride(from: k, through: 0, by: -1) {
            var v = zero
            if r >= 1 {
              v += load8(derivatives + (r - 1) * c + q) * load8(slope + w * r + l)
            }
            if r < k {
              v -= load8(derivatives + r * c + q) * load8(slope + w * (r + 1) + l)
            }
            store8(masked(kf * v, q), derivatives + r * c + q)
          }
        }
        for r in 0...k { store8(masked(load8(values + r * c + q), q), values + r * c + q) }
        l += 8
      }
      start += rows
    }
  }

  /// `prepareGeneral`'s triangle for cubics on `rows` rows (a multiple of 8, at most
  /// `gatherRows`) from row `start`: the gathers with constant offsets, the arithmetic in
  /// registers, each operation the generic loop's (and so `InputBasis.evaluate`'s) in its
  /// order.
  @inline(__always)
  func cubicGeneral(
    _ start: Int, rows: Int, _ basis: BSpline.InputBasis, withDerivatives: Bool,
    mask: (SIMD8<Float>, Int) -> SIMD8<Float>
  ) {
    let (c, w) = (capacity, Self.gatherRows)
    let t = basis.locator.knots
    let m = basis.locator.intervals
    // Rows d = 1, 2, 3 of the reciprocal table at a = mu + 1 - j + r (offset k = 3).
    let (r1, r2, r3) = (
      basis.reciprocal + 3, basis.reciprocal + basis.stride + 2,
      basis.reciprocal + 2 &* basis.stride + 1
    )
    let g = lanes
    for l in 0..<rows {
      // Rows outside the grid read interval 0's (finite) values and are masked below.
      let mu = max(interval[start &+ l], 0)
      if mu >= 2 && mu &+ 3 <= m {
        let p = t + (mu &- 2)
        g[l] = p[0]
        g[w &+ l] = p[1]
        g[2 &* w &+ l] = p[2]
        g[3 &* w &+ l] = p[3]
        g[4 &* w &+ l] = p[4]
        g[5 &* w &+ l] = p[5]
      } else {
        for i in 0..<6 { g[i * w + l] = BSpline.knot(t, mu - 2 + i, m) }
      }
      g[6 &* w &+ l] = r1[mu]
      g[7 &* w &+ l] = r2[mu]
      g[8 &* w &+ l] = r2[mu &+ 1]
      g[9 &* w &+ l] = r3[mu]
      g[10 &* w &+ l] = r3[mu &+ 1]
      g[11 &* w &+ l] = r3[mu &+ 2]
    }
    // The derivative row (d = 3, a = mu - 3 + r) is r3[mu - 1 + r]; only r = 1 ... 3 are
    // used, and those are t3 ... t5.
    let zero = SIMD8<Float>(repeating: 0)
    var l = 0
    while l < rows {
      let q = start + l
      let p = g + l
      let (k0, k1, k2) = (load8(p), load8(p + w), load8(p + 2 * w))
      let (k3, k4, k5) = (load8(p + 3 * w), load8(p + 4 * w), load8(p + 5 * w))
      let (t0, t1, t2) = (load8(p + 6 * w), load8(p + 7 * w), load8(p + 8 * w))
      let (t3, t4, t5) = (load8(p + 9 * w), load8(p + 10 * w), load8(p + 11 * w))
      let x = load8(self.x + q)
      // j = 1
      var temp = SIMD8<Float>(repeating: 1) * t0
      var n0 = zero + (k3 - x) * temp
      var saved = (x - k2) * temp
      var n1 = saved
      // j = 2
      temp = n0 * t1
      n0 = zero + (k3 - x) * temp
      saved = (x - k1) * temp
      temp = n1 * t2
      n1 = saved + (k4 - x) * temp
      saved = (x - k2) * temp
      var n2 = saved
      let (l0, l1, l2) = (n0, n1, n2)
      // j = 3
      temp = n0 * t3
      n0 = zero + (k3 - x) * temp
      saved = (x - k0) * temp
      temp = n1 * t4
      n1 = saved + (k4 - x) * temp
      saved = (x - k1) * temp
      temp = n2 * t5
      n2 = saved + (k5 - x) * temp
      saved = (x - k2) * temp
      let n3 = saved
      store8(mask(n0, q), values + q)
      store8(mask(n1, q), values + c + q)
      store8(mask(n2, q), values + 2 * c + q)
      store8(mask(n3, q), values + 3 * c + q)
      if withDerivatives {
        let three = SIMD8<Float>(repeating: 3)
        var v = zero
        v -= l0 * t3
        store8(mask(three * v, q), derivatives + q)
        v = zero
        v += l0 * t3
        v -= l1 * t4
        store8(mask(three * v, q), derivatives + c + q)
        v = zero
        v += l1 * t4
        v -= l2 * t5
        store8(mask(three * v, q), derivatives + 2 * c + q)
        v = zero
        v += l2 * t5
        store8(mask(three * v, q), derivatives + 3 * c + q)
      }
      l += 8
    }
  }
}
