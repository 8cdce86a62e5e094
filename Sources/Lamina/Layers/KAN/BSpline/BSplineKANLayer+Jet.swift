/// B-spline KAN layers in jet passes (derivative losses, `Model.inputDerivatives`): the
/// edge derivatives the shared contraction (`KANEdgeJet`, Core/KANEdgeJet.swift) reads,
///
///     phi^(p)_ij(x) = mask_ij * (scale_base_ij * silu^(p)(x)
///                                + scale_sp_ij * sum_m coef_ijm B_m^(p)(x)),
///
/// and their parameter gradients (each phi^(p) is linear in coef, scale_base and scale_sp
/// separately). The spline part's derivatives follow the degree k (`BSpline+Derivatives`):
/// with cubics (pykan's default) phi'' is continuous and phi''' piecewise constant, jumping
/// at the knots, which only the backward pass of second-order jets reads; with k = 1 the
/// spline part has no second derivative at all (only the SiLU branch curves), and with
/// k = 0 no first. Outside the extended grid only the SiLU branch remains, as in `forward`.
///
/// Edges fixed to symbolic functions join through BSplineKANLayer+SymbolicJet.swift. Cost
/// per row, input and output:
/// O(k^2) for the bases' derivatives (once per row and input) plus O(k) per output.
extension BSplineKANLayer: KANEdgeJet {
  /// The row's x, silu', silu'', silu''' (4 rows floats), then A2.3's work and the bases'
  /// derivatives (Doubles, stored in the floats after them).
  func edgeJetScratchCount(rows: Int) -> Int {
    let k = options.order
    return 4 * rows + 2 * (BSpline.derivativeWorkCount(order: k) + 4 * (k + 1)) + 2
  }

  /// The layout of `edgeJetScratchCount`'s buffer.
  @inline(__always)
  private func jetScratch(_ s: UnsafeMutablePointer<Float>, rows: Int) -> (
    x: UnsafeMutablePointer<Float>, silu: UnsafeMutablePointer<Float>,
    ders: UnsafeMutablePointer<Double>, work: UnsafeMutablePointer<Double>
  ) {
    let k = options.order
    // Doubles start on an 8-byte boundary: the buffer is 64-byte aligned.
    let raw = UnsafeMutableRawPointer(s + 4 * rows + ((4 * rows) & 1))
    let ders = raw.bindMemory(to: Double.self, capacity: 4 * (k + 1))
    let work = ders + 4 * (k + 1)
    return (s, s + rows, ders, work)
  }

  /// Gathers the column and its SiLU derivatives (orders 1 ... 3 at silu + (p - 1) * count).
  @inline(__always)
  private func prepareJetColumn(
    _ column: UnsafePointer<Float>, stride: Int, count: Int, orders: Int,
    x: UnsafeMutablePointer<Float>, silu: UnsafeMutablePointer<Float>
  ) {
    for r in 0..<count { x[r] = column[r * stride] }
    Activation.silu.derivatives(
      x, count: count, d1: silu, d2: silu + count, d3: orders >= 3 ? silu + 2 * count : nil)
  }

  func edgeDerivatives(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count m: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (nOut, nb, k, kc) = (outputDim, options.basisCount, options.order, options.knotCount)
    let (xs, silu, ders, work) = jetScratch(scratch, rows: m)
    prepareJetColumn(column, stride: stride, count: m, orders: orders, x: xs, silu: silu)
    let w = k + 1
    grid.value.withUnsafeBufferPointer { gb in
      coef.value.withUnsafeBufferPointer { cb in
        scaleBase.value.withUnsafeBufferPointer { bb in
          scaleSp.value.withUnsafeBufferPointer { sb in
            mask.value.withUnsafeBufferPointer { mb in
              let knots = gb.baseAddress! + i * kc
              let locator = BSpline.Locator(knots: knots, count: kc)
              let (c, sbase, sp, ms) = (
                cb.baseAddress!, bb.baseAddress!, sb.baseAddress!, mb.baseAddress!
              )
              for r in 0..<m {
                let mu = locator.interval(xs[r])
                if mu >= 0 {
                  BSpline.derivatives(
                    Double(xs[r]), interval: mu, knots: knots, lastKnot: kc - 1, order: k,
                    orders: orders, into: ders, work: work)
                }
                // The bases B_{mu-k+t} that exist: t in lo ... hi.
                let lo = max(0, k - mu)
                let hi = min(k, nb - 1 - (mu - k))
                for p in 1...orders {
                  let row = table + ((p - 1) * m + r) * nOut
                  let s = Double(silu[(p - 1) * m + r])
                  let dp = ders + p * w
                  for j in 0..<nOut {
                    let e = i * nOut + j
                    var v = Double(sbase[e]) * s
                    if mu >= 0 && lo <= hi {
                      let ce = c + e * nb + mu - k
                      var acc = 0.0
                      for t in lo...hi { acc += Double(ce[t]) * dp[t] }
                      v += Double(sp[e]) * acc
                    }
                    row[j] = Float(Double(ms[e]) * v)
                  }
                }
              }
            }
          }
        }
      }
    }
    addSymbolicEdgeDerivatives(input: i, x: xs, count: m, orders: orders, into: table)
  }

  func addEdgeDerivativeGradients(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count m: Int, orders: Int,
    adjoints: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (nOut, nb, k, kc) = (outputDim, options.basisCount, options.order, options.knotCount)
    let (xs, silu, ders, work) = jetScratch(scratch, rows: m)
    prepareJetColumn(column, stride: stride, count: m, orders: orders, x: xs, silu: silu)
    let w = k + 1
    grid.value.withUnsafeBufferPointer { gb in
      coef.value.withUnsafeBufferPointer { cb in
        scaleSp.value.withUnsafeBufferPointer { sb in
          mask.value.withUnsafeBufferPointer { mb in
            coef.gradient.withUnsafeMutableBufferPointer { cgb in
              scaleBase.gradient.withUnsafeMutableBufferPointer { bgb in
                scaleSp.gradient.withUnsafeMutableBufferPointer { sgb in
                  let knots = gb.baseAddress! + i * kc
                  let locator = BSpline.Locator(knots: knots, count: kc)
                  let (c, sp, ms) = (cb.baseAddress!, sb.baseAddress!, mb.baseAddress!)
                  let (cg, bg, sg) = (cgb.baseAddress!, bgb.baseAddress!, sgb.baseAddress!)
                  for r in 0..<m {
                    let mu = locator.interval(xs[r])
                    if mu >= 0 {
                      BSpline.derivatives(
                        Double(xs[r]), interval: mu, knots: knots, lastKnot: kc - 1, order: k,
                        orders: orders, into: ders, work: work)
                    }
                    let lo = max(0, k - mu)
                    let hi = min(k, nb - 1 - (mu - k))
                    let s1 = Double(silu[r])
                    let s2 = orders == 2 ? Double(silu[m + r]) : 0
                    for j in 0..<nOut {
                      let e = i * nOut + j
                      let a1 = Double(adjoints[r * nOut + j])
                      let a2 = orders == 2 ? Double(adjoints[(m + r) * nOut + j]) : 0
                      let mask = Double(ms[e])
                      bg[e] += Float(mask * (a1 * s1 + a2 * s2))
                      guard mu >= 0 && lo <= hi else { continue }
                      let f = mask * Double(sp[e])
                      let ce = c + e * nb + mu - k
                      let ge = cg + e * nb + mu - k
                      var spSum = 0.0
                      for t in lo...hi {
                        let v = a1 * ders[w + t] + (orders == 2 ? a2 * ders[2 * w + t] : 0)
                        ge[t] += Float(f * v)
                        spSum += Double(ce[t]) * v
                      }
                      sg[e] += Float(mask * spSum)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    addSymbolicEdgeDerivativeGradients(
      input: i, x: xs, count: m, orders: orders, adjoints: adjoints)
  }
}
