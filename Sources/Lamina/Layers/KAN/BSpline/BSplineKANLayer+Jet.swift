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
/// Each call first lays out input i's edges as padded Double tables (mask and scale_sp
/// folded into the coefficients, k zero rows each side, outputs innermost), so that every
/// row reads the k + 1 rows mu ... mu + k of them with no bounds tests and loops over
/// outputs in order; the gradients are kept the same way, as per-task sums over rows of
/// adjoint x basis derivative, turned into dL/dcoef, dL/dscale_sp and dL/dscale_base once
/// per pass (`addEdgeJetSums`). On a uniform grid (the one "grid_range" makes) cubic bases'
/// derivatives are the cardinal pieces in closed form (`BSpline.uniformCubicDerivatives`),
/// as `forward`'s values are; other grids and degrees take Piegl and Tiller's A2.3.
///
/// Edges fixed to symbolic functions join through BSplineKANLayer+SymbolicJet.swift (a layer
/// with the symbolic branch adds its gradients straight into the parameters, so its
/// backward stays on the calling thread). Cost per row, input and output: O(k^2) for the
/// bases' derivatives (once per row and input; O(k) in closed form) plus O(k) per output.
extension BSplineKANLayer: KANEdgeJet {
  /// The row's x and silu', silu'', silu''' (4 rows floats), then in Doubles (see
  /// `jetScratch`): the bases' derivatives, A2.3's work, the padded coefficient table, the
  /// base weights, one row's sums and the interval widths' reciprocals.
  func edgeJetScratchCount(rows: Int) -> Int {
    let (k, nOut) = (options.order, outputDim)
    let doubles =
      4 * (k + 1) + BSpline.derivativeWorkCount(order: k)
      + nOut * (options.basisCount + 2 * k) + 2 * nOut + options.knotCount
    return 4 * rows + 2 * doubles + 2
  }

  /// The layout of `edgeJetScratchCount`'s buffer.
  @inline(__always)
  private func jetScratch(_ s: UnsafeMutablePointer<Float>, rows: Int) -> JetScratch {
    let (k, nOut) = (options.order, outputDim)
    // The caller's offset into its buffer may be odd: Doubles start on the next 8 bytes.
    let raw = UnsafeMutableRawPointer(s + 4 * rows).alignedUp(for: Double.self)
    let capacity = (edgeJetScratchCount(rows: rows) - 4 * rows - 2) / 2
    let ders = raw.bindMemory(to: Double.self, capacity: capacity)
    let work = ders + 4 * (k + 1)
    let table = work + BSpline.derivativeWorkCount(order: k)
    let base = table + nOut * (options.basisCount + 2 * k)
    let acc = base + nOut
    let inverseWidths = acc + nOut
    return JetScratch(
      x: s, silu: s + rows, ders: ders, work: work, table: table, base: base, acc: acc,
      inverseWidths: inverseWidths)
  }

  /// Regions of the jet scratch (`jetScratch`).
  private struct JetScratch {
    /// The block's x and its SiLU derivatives (order p at silu + (p - 1) * rows).
    let x: UnsafeMutablePointer<Float>
    let silu: UnsafeMutablePointer<Float>
    /// ders[p * (k + 1) + t]: d^p B_{mu-k+t} / dx^p at one row; A2.3's work.
    let ders: UnsafeMutablePointer<Double>
    let work: UnsafeMutablePointer<Double>
    /// table[q * out + j]: mask scale_sp coef of edge (i, j) and basis q - k, 0 for the k
    /// rows each side that stand for bases that do not exist.
    let table: UnsafeMutablePointer<Double>
    /// base[j]: mask scale_base of edge (i, j).
    let base: UnsafeMutablePointer<Double>
    /// One row's values per output.
    let acc: UnsafeMutablePointer<Double>
    /// 1 / (t_{a+1} - t_a) per interval a.
    let inverseWidths: UnsafeMutablePointer<Double>
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

  /// Whether input i's bases take the closed cubic form: degree 3 on knots within
  /// `BSpline.InputBasis.uniformTolerance` of uniform, the test `forward` applies. Fills
  /// the intervals' reciprocal widths either way.
  @inline(__always)
  private func closedCubic(_ knots: UnsafePointer<Float>, inverseWidths: UnsafeMutablePointer<Double>)
    -> Bool
  {
    let m = options.knotCount - 1
    let mean = (knots[m] - knots[0]) / Float(m)
    var uniform = options.order == 3 && mean.isFinite && mean > 0
    for a in 0..<m {
      let width = knots[a + 1] - knots[a]
      uniform = uniform && abs(width - mean) <= BSpline.InputBasis.uniformTolerance * mean
      inverseWidths[a] = width > 0 ? 1 / Double(width) : 0
    }
    return uniform
  }

  /// The bases' derivatives of orders 1 ... `orders` at x (interval mu >= 0) into
  /// `s.ders`, in closed form when `cubic`.
  @inline(__always)
  private func basisDerivatives(
    _ x: Float, interval mu: Int, knots: UnsafePointer<Float>, orders: Int, cubic: Bool,
    _ s: JetScratch
  ) {
    if cubic {
      BSpline.uniformCubicDerivatives(
        Double(x), left: Double(knots[mu]), inverseWidth: s.inverseWidths[mu],
        orders: orders, into: s.ders)
    } else {
      BSpline.derivatives(
        Double(x), interval: mu, knots: knots, lastKnot: options.knotCount - 1,
        order: options.order, orders: orders, into: s.ders, work: s.work)
    }
  }

  func edgeDerivatives(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count m: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (nOut, nb, k, kc) = (outputDim, options.basisCount, options.order, options.knotCount)
    let s = jetScratch(scratch, rows: m)
    prepareJetColumn(column, stride: stride, count: m, orders: orders, x: s.x, silu: s.silu)
    let w = k + 1
    grid.value.withUnsafeBufferPointer { gb in
      coef.value.withUnsafeBufferPointer { cb in
        scaleBase.value.withUnsafeBufferPointer { bb in
          scaleSp.value.withUnsafeBufferPointer { sb in
            mask.value.withUnsafeBufferPointer { mb in
              let knots = gb.baseAddress! + i * kc
              let locator = BSpline.Locator(knots: knots, count: kc)
              let cubic = closedCubic(knots, inverseWidths: s.inverseWidths)
              let (c, sbase, sp, ms) = (
                cb.baseAddress!, bb.baseAddress!, sb.baseAddress!, mb.baseAddress!
              )
              let padded = s.table
              padded.update(repeating: 0, count: (nb + 2 * k) * nOut)
              for j in 0..<nOut {
                let e = i * nOut + j
                let mask = Double(ms[e])
                s.base[j] = mask * Double(sbase[e])
                let f = mask * Double(sp[e])
                for q in 0..<nb { padded[(q + k) * nOut + j] = f * Double(c[e * nb + q]) }
              }
              let (base, acc, ders) = (s.base, s.acc, s.ders)
              for r in 0..<m {
                let mu = locator.interval(s.x[r])
                if mu >= 0 {
                  basisDerivatives(
                    s.x[r], interval: mu, knots: knots, orders: orders, cubic: cubic, s)
                }
                for p in 1...orders {
                  let row = table + ((p - 1) * m + r) * nOut
                  let silu = Double(s.silu[(p - 1) * m + r])
                  for j in 0..<nOut { acc[j] = base[j] * silu }
                  if mu >= 0 {
                    for t in 0...k {
                      let d = ders[p * w + t]
                      let coefficients = padded + (mu + t) * nOut
                      for j in 0..<nOut { acc[j] += coefficients[j] * d }
                    }
                  }
                  for j in 0..<nOut { row[j] = Float(acc[j]) }
                }
              }
            }
          }
        }
      }
    }
    addSymbolicEdgeDerivatives(input: i, x: s.x, count: m, orders: orders, into: table)
  }

  /// Per input: the padded sums sum_r sum_p a_p(r, j) d^p B_{q-k}(x_r) / dx^p, q in
  /// 0 ..< G + 3k (the `table` layout), then every edge's sum_r sum_p a_p silu^(p); none
  /// with the symbolic branch, whose affine gradients go straight to the parameters.
  func edgeJetSumCount() -> Int {
    guard symbolicTensors == nil else { return 0 }
    return inputDim * outputDim * (options.basisCount + 2 * options.order + 1)
  }

  func addEdgeDerivativeSums(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count m: Int, orders: Int,
    adjoints: UnsafePointer<Float>, into sums: UnsafeMutablePointer<Double>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let (nIn, nOut, nb, k, kc) = (
      inputDim, outputDim, options.basisCount, options.order, options.knotCount
    )
    let s = jetScratch(scratch, rows: m)
    prepareJetColumn(column, stride: stride, count: m, orders: orders, x: s.x, silu: s.silu)
    let w = k + 1
    let padded = nb + 2 * k
    let basis = sums + i * padded * nOut
    let base = sums + nIn * padded * nOut + i * nOut
    grid.value.withUnsafeBufferPointer { gb in
      let knots = gb.baseAddress! + i * kc
      let locator = BSpline.Locator(knots: knots, count: kc)
      let cubic = closedCubic(knots, inverseWidths: s.inverseWidths)
      let ders = s.ders
      for r in 0..<m {
        let mu = locator.interval(s.x[r])
        let a1 = adjoints + r * nOut
        let s1 = Double(s.silu[r])
        if orders == 1 {
          for j in 0..<nOut { base[j] += Double(a1[j]) * s1 }
        } else {
          let a2 = adjoints + (m + r) * nOut
          let s2 = Double(s.silu[m + r])
          for j in 0..<nOut { base[j] += Double(a1[j]) * s1 + Double(a2[j]) * s2 }
        }
        guard mu >= 0 else { continue }
        basisDerivatives(s.x[r], interval: mu, knots: knots, orders: orders, cubic: cubic, s)
        for t in 0...k {
          let row = basis + (mu + t) * nOut
          let d1 = ders[w + t]
          if orders == 1 {
            for j in 0..<nOut { row[j] += Double(a1[j]) * d1 }
          } else {
            let a2 = adjoints + (m + r) * nOut
            let d2 = ders[2 * w + t]
            for j in 0..<nOut { row[j] += Double(a1[j]) * d1 + Double(a2[j]) * d2 }
          }
        }
      }
    }
  }

  func addEdgeJetSums(_ sums: UnsafePointer<Double>) {
    let (nIn, nOut, nb, k) = (inputDim, outputDim, options.basisCount, options.order)
    let padded = nb + 2 * k
    coef.value.withUnsafeBufferPointer { cb in
      scaleSp.value.withUnsafeBufferPointer { sb in
        mask.value.withUnsafeBufferPointer { mb in
          coef.gradient.withUnsafeMutableBufferPointer { cgb in
            scaleBase.gradient.withUnsafeMutableBufferPointer { bgb in
              scaleSp.gradient.withUnsafeMutableBufferPointer { sgb in
                let (c, sp, ms) = (cb.baseAddress!, sb.baseAddress!, mb.baseAddress!)
                let (cg, bg, sg) = (cgb.baseAddress!, bgb.baseAddress!, sgb.baseAddress!)
                for i in 0..<nIn {
                  let basis = sums + (i * padded + k) * nOut
                  for j in 0..<nOut {
                    let e = i * nOut + j
                    let mask = Double(ms[e])
                    bg[e] += Float(mask * sums[nIn * padded * nOut + e])
                    let f = mask * Double(sp[e])
                    var spSum = 0.0
                    for q in 0..<nb {
                      let v = basis[q * nOut + j]
                      cg[e * nb + q] += Float(f * v)
                      spSum += Double(c[e * nb + q]) * v
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

  func addEdgeDerivativeGradients(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count m: Int, orders: Int,
    adjoints: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (nOut, nb, k, kc) = (outputDim, options.basisCount, options.order, options.knotCount)
    let s = jetScratch(scratch, rows: m)
    prepareJetColumn(column, stride: stride, count: m, orders: orders, x: s.x, silu: s.silu)
    let w = k + 1
    let ders = s.ders
    grid.value.withUnsafeBufferPointer { gb in
      coef.value.withUnsafeBufferPointer { cb in
        scaleSp.value.withUnsafeBufferPointer { sb in
          mask.value.withUnsafeBufferPointer { mb in
            coef.gradient.withUnsafeMutableBufferPointer { cgb in
              scaleBase.gradient.withUnsafeMutableBufferPointer { bgb in
                scaleSp.gradient.withUnsafeMutableBufferPointer { sgb in
                  let knots = gb.baseAddress! + i * kc
                  let locator = BSpline.Locator(knots: knots, count: kc)
                  let cubic = closedCubic(knots, inverseWidths: s.inverseWidths)
                  let (c, sp, ms) = (cb.baseAddress!, sb.baseAddress!, mb.baseAddress!)
                  let (cg, bg, sg) = (cgb.baseAddress!, bgb.baseAddress!, sgb.baseAddress!)
                  for r in 0..<m {
                    let mu = locator.interval(s.x[r])
                    if mu >= 0 {
                      basisDerivatives(
                        s.x[r], interval: mu, knots: knots, orders: orders, cubic: cubic, s)
                    }
                    let lo = max(0, k - mu)
                    let hi = min(k, nb - 1 - (mu - k))
                    let s1 = Double(s.silu[r])
                    let s2 = orders == 2 ? Double(s.silu[m + r]) : 0
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
      input: i, x: s.x, count: m, orders: orders, adjoints: adjoints)
  }
}
