/// B-spline KAN layers in jet passes (derivative losses, `Model.inputDerivatives`): the
/// edge derivatives the shared contraction (`KANEdgeJet`, Core/KANEdgeJet.swift) reads,
///
///     phi^(p)_ij(x) = mask_ij * (scale_base_ij * b^(p)(x)
///                                + scale_sp_ij * sum_m coef_ijm B_m^(p)(x)),
///
/// with b the base function ("base_fun": SiLU by default, whose derivatives are
/// `Activation.silu`'s; the identity's are 1, 0, 0 and zero's 0, 0, 0; the variable names
/// below say silu for any of them),
///
/// and their parameter gradients (each phi^(p) is linear in coef, scale_base and scale_sp
/// separately). The spline part's derivatives follow the degree k (`BSpline+Derivatives`):
/// with cubics (pykan's default) phi'' is continuous and phi''' piecewise constant, jumping
/// at the knots, which only the backward pass of second-order jets reads; with k = 1 the
/// spline part has no second derivative at all (only the base branch curves), and with
/// k = 0 no first. Outside the extended grid only the base branch remains, as in `forward`.
///
/// Each call first lays out input i's edges as padded Double tables (mask and scale_sp
/// folded into the coefficients, k zero rows each side, outputs innermost), so that every
/// row reads the k + 1 rows mu ... mu + k of them with no bounds tests and loops over
/// outputs in order; the gradients are kept the same way, as per-task sums over rows of
/// adjoint x basis derivative, turned into dL/dcoef, dL/dscale_sp and dL/dscale_base once
/// per pass (`addEdgeJetSums`). Each row's interval and bases' derivatives are found once
/// per pass: the sums read those the backward's edge-derivative call left in its scratch
/// (held as (d1, d2, d3) vectors, so one coefficient read serves every order). On a uniform grid (the one "grid_range" makes) cubic bases'
/// derivatives are the cardinal pieces in closed form (`BSpline.uniformCubicDerivatives`),
/// as `forward`'s values are; other grids and degrees take Piegl and Tiller's A2.3.
///
/// Edges fixed to symbolic functions join through BSplineKANLayer+SymbolicJet.swift (a layer
/// with the symbolic branch adds its gradients straight into the parameters, so its
/// backward stays on the calling thread). Cost per row, input and output: O(k^2) for the
/// bases' derivatives (once per row and input; O(k) in closed form) plus O(k) per output.
extension BSplineKANLayer: KANEdgeJet {
  /// The rows' x and silu', silu'', silu''' (4 rows floats), then (see `jetScratch`) the
  /// rows' intervals and bases' derivatives, A2.3's work, the padded coefficient table, the
  /// base weights and the intervals' reciprocal widths, with room to align them.
  func edgeJetScratchCount(rows: Int) -> Int {
    let (k, nOut) = (options.order, outputDim)
    let doubles =
      4 * rows * (k + 1) + rows + 5 * (k + 1) + BSpline.derivativeWorkCount(order: k)
      + nOut * (options.basisCount + 2 * k) + nOut + options.knotCount
    return 4 * rows + 2 * doubles + 8
  }

  /// Regions of the jet scratch (`jetScratch`).
  private struct JetScratch {
    /// The block's x and its SiLU derivatives (order p at silu + (p - 1) * rows).
    let x: UnsafeMutablePointer<Float>
    let silu: UnsafeMutablePointer<Float>
    /// Row r's interval mu (-1 outside the grid) and, at dv[r * (k + 1) + t], the
    /// derivatives (d1, d2, d3, 0) of B_{mu-k+t} at x_r (orders above those asked: any
    /// finite value, never read).
    let intervals: UnsafeMutablePointer<Int>
    let dv: UnsafeMutablePointer<SIMD4<Double>>
    /// A2.3's output (ders[p * (k + 1) + t]) and work.
    let ders: UnsafeMutablePointer<Double>
    let work: UnsafeMutablePointer<Double>
    /// table[q * out + j]: mask scale_sp coef of edge (i, j) and basis q - k, 0 for the k
    /// rows each side that stand for bases that do not exist.
    let table: UnsafeMutablePointer<Double>
    /// base[j]: mask scale_base of edge (i, j).
    let base: UnsafeMutablePointer<Double>
    /// 1 / (t_{a+1} - t_a) per interval a.
    let inverseWidths: UnsafeMutablePointer<Double>
  }

  /// The layout of `edgeJetScratchCount`'s buffer.
  @inline(__always)
  private func jetScratch(_ s: UnsafeMutablePointer<Float>, rows: Int) -> JetScratch {
    let (k, nOut) = (options.order, outputDim)
    // The caller's offset into its buffer is any float: the vectors start on 32 bytes.
    let raw = UnsafeMutableRawPointer(s + 4 * rows).alignedUp(for: SIMD4<Double>.self)
    let dv = raw.bindMemory(to: SIMD4<Double>.self, capacity: rows * (k + 1))
    let after = UnsafeMutableRawPointer(dv + rows * (k + 1))
    let intervals = after.bindMemory(to: Int.self, capacity: rows)
    let doubles = UnsafeMutableRawPointer(intervals + rows).bindMemory(
      to: Double.self,
      capacity: 5 * (k + 1) + BSpline.derivativeWorkCount(order: k)
        + nOut * (options.basisCount + 2 * k) + nOut + options.knotCount)
    let ders = doubles
    let work = ders + 4 * (k + 1)
    let table = work + BSpline.derivativeWorkCount(order: k) + (k + 1)
    let base = table + nOut * (options.basisCount + 2 * k)
    return JetScratch(
      x: s, silu: s + rows, intervals: intervals, dv: dv, ders: ders, work: work, table: table,
      base: base, inverseWidths: base + nOut)
  }

  /// Whether input i's bases take the closed cubic form: degree 3 on knots within
  /// `BSpline.InputBasis.uniformTolerance` of uniform, the test `forward` applies. Fills
  /// the intervals' reciprocal widths either way.
  @inline(__always)
  private func closedCubic(
    _ knots: UnsafePointer<Float>, inverseWidths: UnsafeMutablePointer<Double>
  ) -> Bool {
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

  /// Fills the scratch's rows for input i's column: x, its SiLU derivatives, each row's
  /// interval and its bases' derivatives of orders 1 ... `orders` (closed form when
  /// `closedCubic`, else A2.3).
  @inline(__always)
  private func prepareJetRows(
    _ column: UnsafePointer<Float>, stride: Int, count m: Int, orders: Int,
    knots: UnsafePointer<Float>, _ s: JetScratch
  ) {
    let (k, kc) = (options.order, options.knotCount)
    let w = k + 1
    for r in 0..<m { s.x[r] = column[r * stride] }
    options.baseFunction.derivatives(
      s.x, count: m, d1: s.silu, d2: s.silu + m, d3: orders >= 3 ? s.silu + 2 * m : nil)
    let locator = BSpline.Locator(knots: knots, count: kc)
    let cubic = closedCubic(knots, inverseWidths: s.inverseWidths)
    for r in 0..<m {
      let mu = locator.interval(s.x[r])
      s.intervals[r] = mu
      guard mu >= 0 else { continue }
      let dv = s.dv + r * w
      if cubic {
        BSpline.uniformCubicDerivatives(
          Double(s.x[r]), left: Double(knots[mu]), inverseWidth: s.inverseWidths[mu], into: dv)
        continue
      }
      BSpline.derivatives(
        Double(s.x[r]), interval: mu, knots: knots, lastKnot: kc - 1, order: k,
        orders: orders, into: s.ders, work: s.work)
      for t in 0...k {
        dv[t] = SIMD4(
          s.ders[w + t], orders >= 2 ? s.ders[2 * w + t] : 0,
          orders >= 3 ? s.ders[3 * w + t] : 0, 0)
      }
    }
  }

  /// Leaves the rows' intervals and bases' derivatives in `scratch` for
  /// `addEdgeDerivativeSums` (which the shared backward calls next, on the same rows).
  func edgeDerivatives(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count m: Int, orders: Int,
    into table: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (nOut, nb, k, kc) = (outputDim, options.basisCount, options.order, options.knotCount)
    let s = jetScratch(scratch, rows: m)
    let w = k + 1
    grid.value.withUnsafeBufferPointer { gb in
      coef.value.withUnsafeBufferPointer { cb in
        scaleBase.value.withUnsafeBufferPointer { bb in
          scaleSp.value.withUnsafeBufferPointer { sb in
            mask.value.withUnsafeBufferPointer { mb in
              let knots = gb.baseAddress! + i * kc
              prepareJetRows(column, stride: stride, count: m, orders: orders, knots: knots, s)
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
              let (silu, base) = (s.silu, s.base)
              for r in 0..<m {
                let mu = s.intervals[r]
                let (row1, row2) = (table + r * nOut, table + (m + r) * nOut)
                let (s1, s2) = (Double(silu[r]), Double(silu[m + r]))
                guard mu >= 0 else {
                  // Outside the grid only the SiLU branch remains.
                  for j in 0..<nOut { row1[j] = Float(base[j] * s1) }
                  if orders >= 2 { for j in 0..<nOut { row2[j] = Float(base[j] * s2) } }
                  if orders >= 3 {
                    let s3 = Double(silu[2 * m + r])
                    for j in 0..<nOut { table[(2 * m + r) * nOut + j] = Float(base[j] * s3) }
                  }
                  continue
                }
                // All orders at once, each coefficient read once per row; two lanes when
                // the third order is not asked for (the forward pass, the first layer).
                let dv = s.dv + r * w
                let cr = padded + mu * nOut
                if orders <= 2 {
                  let sv = SIMD2<Double>(s1, s2)
                  for j in 0..<nOut {
                    var v = base[j] * sv
                    for t in 0...k { v += cr[t * nOut + j] * dv[t].lowHalf }
                    row1[j] = Float(v[0])
                    if orders == 2 { row2[j] = Float(v[1]) }
                  }
                  continue
                }
                let sv = SIMD4<Double>(s1, s2, Double(silu[2 * m + r]), 0)
                let row3 = table + (2 * m + r) * nOut
                for j in 0..<nOut {
                  var v = base[j] * sv
                  for t in 0...k { v += cr[t * nOut + j] * dv[t] }
                  row1[j] = Float(v[0])
                  row2[j] = Float(v[1])
                  row3[j] = Float(v[2])
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

  /// Reads the rows' intervals, bases' derivatives and SiLU derivatives that
  /// `edgeDerivatives` left in `scratch` for the same input and rows.
  func addEdgeDerivativeSums(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count m: Int, orders: Int,
    adjoints: UnsafePointer<Float>, into sums: UnsafeMutablePointer<Double>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let (nIn, nOut, k) = (inputDim, outputDim, options.order)
    let s = jetScratch(scratch, rows: m)
    let w = k + 1
    let padded = options.basisCount + 2 * k
    let basis = sums + i * padded * nOut
    let base = sums + nIn * padded * nOut + i * nOut
    for r in 0..<m {
      let mu = s.intervals[r]
      let a1 = adjoints + r * nOut
      let a2 = adjoints + (m + r) * nOut
      let dv = s.dv + r * w
      let s1 = Double(s.silu[r])
      if orders == 1 {
        for j in 0..<nOut { base[j] += Double(a1[j]) * s1 }
        guard mu >= 0 else { continue }
        for t in 0...k {
          let row = basis + (mu + t) * nOut
          let d1 = dv[t][0]
          for j in 0..<nOut { row[j] += Double(a1[j]) * d1 }
        }
        continue
      }
      let s2 = Double(s.silu[m + r])
      for j in 0..<nOut { base[j] += Double(a1[j]) * s1 + Double(a2[j]) * s2 }
      guard mu >= 0 else { continue }
      for t in 0...k {
        let row = basis + (mu + t) * nOut
        let (d1, d2) = (dv[t][0], dv[t][1])
        for j in 0..<nOut { row[j] += Double(a1[j]) * d1 + Double(a2[j]) * d2 }
      }
    }
  }

  /// dL/dcoef = mask scale_sp S, dL/dscale_sp = mask sum_m coef S, dL/dscale_base = mask
  /// times the SiLU sum, from the reduced sums S (`edgeJetSumCount`'s layout).
  func addEdgeJetSums(_ sums: UnsafePointer<Double>) {
    let (nIn, nOut, nb, k) = (inputDim, outputDim, options.basisCount, options.order)
    let padded = nb + 2 * k
    let (trainsBase, trainsSp) = (options.sbTrainable, options.spTrainable)
    withJetGradients { c, sp, ms, cg, bg, sg in
      for i in 0..<nIn {
        let basis = sums + (i * padded + k) * nOut
        for j in 0..<nOut {
          let e = i * nOut + j
          let mask = Double(ms[e])
          if trainsBase { bg[e] += Float(mask * sums[nIn * padded * nOut + e]) }
          let f = mask * Double(sp[e])
          var spSum = 0.0
          for q in 0..<nb {
            let v = basis[q * nOut + j]
            cg[e * nb + q] += Float(f * v)
            spSum += Double(c[e * nb + q]) * v
          }
          if trainsSp { sg[e] += Float(mask * spSum) }
        }
      }
    }
  }

  /// Runs `body` with the coef, scale_sp and mask values and the coef, scale_base and
  /// scale_sp gradients: what the jet's gradient adds read and write.
  @inline(__always)
  private func withJetGradients<R>(
    _ body: (
      _ c: UnsafePointer<Float>, _ sp: UnsafePointer<Float>, _ ms: UnsafePointer<Float>,
      _ cg: UnsafeMutablePointer<Float>, _ bg: UnsafeMutablePointer<Float>,
      _ sg: UnsafeMutablePointer<Float>
    ) -> R
  ) -> R {
    coef.value.withUnsafeBufferPointer { cb in
      scaleSp.value.withUnsafeBufferPointer { sb in
        mask.value.withUnsafeBufferPointer { mb in
          coef.gradient.withUnsafeMutableBufferPointer { cgb in
            scaleBase.gradient.withUnsafeMutableBufferPointer { bgb in
              scaleSp.gradient.withUnsafeMutableBufferPointer { sgb in
                body(
                  cb.baseAddress!, sb.baseAddress!, mb.baseAddress!, cgb.baseAddress!,
                  bgb.baseAddress!, sgb.baseAddress!)
              }
            }
          }
        }
      }
    }
  }

  /// The direct form, for layers with the symbolic branch (whose affine gradients are added
  /// straight into their parameter as well): finds the rows' derivatives itself.
  func addEdgeDerivativeGradients(
    input i: Int, column: UnsafePointer<Float>, stride: Int, count m: Int, orders: Int,
    adjoints: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (nOut, nb, k, kc) = (outputDim, options.basisCount, options.order, options.knotCount)
    let s = jetScratch(scratch, rows: m)
    let w = k + 1
    grid.value.withUnsafeBufferPointer { gb in
      prepareJetRows(
        column, stride: stride, count: m, orders: orders, knots: gb.baseAddress! + i * kc, s)
    }
    let (trainsBase, trainsSp) = (options.sbTrainable, options.spTrainable)
    withJetGradients { c, sp, ms, cg, bg, sg in
      for r in 0..<m {
        let mu = s.intervals[r]
        let dv = s.dv + r * w
        let lo = max(0, k - mu)
        let hi = min(k, nb - 1 - (mu - k))
        let s1 = Double(s.silu[r])
        let s2 = orders == 2 ? Double(s.silu[m + r]) : 0
        for j in 0..<nOut {
          let e = i * nOut + j
          let a1 = Double(adjoints[r * nOut + j])
          let a2 = orders == 2 ? Double(adjoints[(m + r) * nOut + j]) : 0
          let mask = Double(ms[e])
          if trainsBase { bg[e] += Float(mask * (a1 * s1 + a2 * s2)) }
          guard mu >= 0 && lo <= hi else { continue }
          let f = mask * Double(sp[e])
          let ce = c + e * nb + mu - k
          let ge = cg + e * nb + mu - k
          var spSum = 0.0
          for t in lo...hi {
            let v = a1 * dv[t][0] + (orders == 2 ? a2 * dv[t][1] : 0)
            ge[t] += Float(f * v)
            spSum += Double(ce[t]) * v
          }
          if trainsSp { sg[e] += Float(mask * spSum) }
        }
      }
    }
    addSymbolicEdgeDerivativeGradients(
      input: i, x: s.x, count: m, orders: orders, adjoints: adjoints)
  }
}
