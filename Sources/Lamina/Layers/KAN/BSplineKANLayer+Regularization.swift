#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// pykan's sparsity regulariser of one B-spline KAN layer (`MultKAN.reg` with
/// reg_metric "edge_forward_spline_n"), its value and its exact gradient.
///
/// For a batch x (n rows) pykan's forward records, per edge (i, j),
///
///     v_ij = std_s(phi_ij(x_si)) / (std_s(x_si) + 0.1)
///
/// (unbiased std, as `torch.std`; phi_ij = mask * (scale_base * silu + scale_sp * spline),
/// the numerical branch only), and the layer's regulariser is
///
///     l1 * sum v + entropy * (H_rows + H_cols)
///       + coefL1 * sum|coef| / out + coefDiff * sum|coef[.., m+1] - coef[.., m]| / out
///
/// where H_rows = -mean_j sum_i p log2(p + 1e-4) with p = v_ij / (sum_i v_ij + 1), and
/// H_cols likewise with the sums over j (pykan's `vec` is [out, in]: rows are outputs).
/// Nothing is detached, so the gradient reaches coef, scale_base, scale_sp and, through
/// both the edge values and std(x), the layer's input (and so earlier layers).
extension BSplineKANLayer {
  /// The regularisation weights of one call (pykan's `reg` arguments).
  struct SparsityWeights {
    var l1: Double
    var entropy: Double
    var coef: Double
    var coefDiff: Double
  }

  /// This layer's regulariser on the `n` rows of `x`. When `scale` is non-nil, adds
  /// scale * dR/dparameter into the parameters' gradients and, when `dx` is non-nil,
  /// scale * dR/dx into `dx` (n x inputDim, added to what is there).
  ///
  /// With fewer than two rows the std is taken as 0 (torch gives NaN), so only the
  /// coefficient terms remain. A zero std contributes no gradient (torch: NaN).
  /// Cost O(n * in * out * (k + 1)) and n * in * out Doubles of scratch allocated per call:
  /// the regulariser needs every edge value twice (std, then its gradient), and is off by
  /// default.
  func sparsityRegularization(
    _ x: UnsafePointer<Float>, count n: Int, weights w: SparsityWeights,
    gradientScale scale: Double?, dx: UnsafeMutablePointer<Float>?
  ) -> Double {
    let (nIn, nOut, nb, k) = (inputDim, outputDim, options.basisCount, options.order)
    let edges = nIn * nOut
    let knotCount = grid.shape[1]
    var total = 0.0

    // Coefficient terms (pykan: sum over in and basis of the mean over out).
    if w.coef != 0 || w.coefDiff != 0 {
      let perOut = 1 / Double(nOut)
      for e in 0..<edges {
        let base = e * nb
        for m in 0..<nb {
          let c = Double(coef.value[base + m])
          total += w.coef * abs(c) * perOut
          if let scale, w.coef != 0 {
            coef.gradient[base + m] += Float(scale * w.coef * perOut * sign(c))
          }
          if m + 1 < nb {
            let d = Double(coef.value[base + m + 1]) - c
            total += w.coefDiff * abs(d) * perOut
            if let scale, w.coefDiff != 0 {
              let g = Float(scale * w.coefDiff * perOut * sign(d))
              coef.gradient[base + m + 1] += g
              coef.gradient[base + m] -= g
            }
          }
        }
      }
    }
    guard w.l1 != 0 || w.entropy != 0, n >= 2 else { return total }

    // Local copies (no copying: arrays are copy-on-write) keep the loops free of class
    // property accesses; gradients are summed in Double and added once at the end.
    let cv = coef.value
    let sbv = scaleBase.value
    let spv = scaleSp.value
    let mv = mask.value
    let gridv = grid.value
    let values = UnsafeMutablePointer<Float>.allocate(capacity: k + 1)
    let derivs = UnsafeMutablePointer<Float>.allocate(capacity: k + 1)
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * (k + 1))
    values.initialize(repeating: 0, count: k + 1)
    derivs.initialize(repeating: 0, count: k + 1)
    scratch.initialize(repeating: 0, count: 3 * (k + 1))
    defer {
      values.deallocate()
      derivs.deallocate()
      scratch.deallocate()
    }
    return gridv.withUnsafeBufferPointer { gb -> Double in
      let t0 = gb.baseAddress!
      let locators = (0..<nIn).map { BSpline.Locator(knots: t0 + $0 * knotCount, count: knotCount) }
      // The bases (and derivatives) of input i at x into values/derivs; x's interval or -1.
      func bases(_ i: Int, _ xv: Float, _ withDerivatives: Bool) -> Int {
        let mu = locators[i].interval(xv)
        guard mu >= 0 else { return -1 }
        BSpline.evaluate(
          xv, interval: mu, knots: t0 + i * knotCount, lastKnot: knotCount - 1, order: k,
          values: values, derivatives: withDerivatives ? derivs : nil, scratch: scratch)
        return mu
      }

      // Pass 1: every edge value, then means and stds of the inputs and edges.
      var phi = [Double](repeating: 0, count: n * edges)
      for s in 0..<n {
        for i in 0..<nIn {
          let xv = x[s * nIn + i]
          let silu = Double(xv) / (1 + exp(-Double(xv)))
          let mu = bases(i, xv, false)
          for j in 0..<nOut {
            let e = i * nOut + j
            var spline = 0.0
            if mu >= 0 {
              for r in 0...k {
                let m = mu - k + r
                if m >= 0 && m < nb { spline += Double(cv[e * nb + m]) * Double(values[r]) }
              }
            }
            phi[s * edges + e] = Double(mv[e]) * (Double(sbv[e]) * silu + Double(spv[e]) * spline)
          }
        }
      }
      let denominator = 1 / Double(n - 1)
      var meanX = [Double](repeating: 0, count: nIn)
      var stdX = [Double](repeating: 0, count: nIn)
      for i in 0..<nIn {
        var sum = 0.0
        for s in 0..<n { sum += Double(x[s * nIn + i]) }
        let mean = sum / Double(n)
        var sq = 0.0
        for s in 0..<n {
          let d = Double(x[s * nIn + i]) - mean
          sq += d * d
        }
        meanX[i] = mean
        stdX[i] = (sq * denominator).squareRoot()
      }
      var meanPhi = [Double](repeating: 0, count: edges)
      var stdPhi = [Double](repeating: 0, count: edges)
      for s in 0..<n {
        for e in 0..<edges { meanPhi[e] += phi[s * edges + e] }
      }
      for e in 0..<edges { meanPhi[e] /= Double(n) }
      for s in 0..<n {
        for e in 0..<edges {
          let d = phi[s * edges + e] - meanPhi[e]
          stdPhi[e] += d * d
        }
      }
      var v = [Double](repeating: 0, count: edges)
      for e in 0..<edges {
        stdPhi[e] = (stdPhi[e] * denominator).squareRoot()
        v[e] = stdPhi[e] / (stdX[e / nOut] + 0.1)
      }

      // The score terms and dR/dv.
      var dv = [Double](repeating: 0, count: edges)
      var g = [Double](repeating: 0, count: max(nIn, nOut))
      let ln2 = log(2.0)
      // One entropy group: the edges `index(0..<count)`, averaged over `groups` groups.
      func entropy(count: Int, groups: Int, _ index: (Int) -> Int) -> Double {
        var sum = 0.0
        for a in 0..<count { sum += v[index(a)] }
        let z = sum + 1
        var h = 0.0
        var gv = 0.0  // sum_a g_a v_a, g = dH/dp
        for a in 0..<count {
          let p = v[index(a)] / z
          h -= p * log2(p + 1e-4)
          g[a] = -(log2(p + 1e-4) + p / ((p + 1e-4) * ln2))
          gv += g[a] * v[index(a)]
        }
        let factor = w.entropy / Double(groups)
        for a in 0..<count {
          dv[index(a)] += factor * (g[a] / z - gv / (z * z))
        }
        return h / Double(groups)
      }
      var l1 = 0.0
      for e in 0..<edges {
        l1 += v[e]
        dv[e] += w.l1
      }
      var entropyRows = 0.0
      var entropyCols = 0.0
      if w.entropy != 0 {
        // Rows of pykan's [out, in] matrix: one output j, summed over inputs i.
        for j in 0..<nOut { entropyRows += entropy(count: nIn, groups: nOut) { $0 * nOut + j } }
        for i in 0..<nIn { entropyCols += entropy(count: nOut, groups: nIn) { i * nOut + $0 } }
      }
      let value = total + w.l1 * l1 + w.entropy * (entropyRows + entropyCols)
      guard let scale else { return value }

      // Pass 2: dR/dphi_ij(s) = a_ij (phi - mean), a = dR/dv / ((std_x + 0.1)(n - 1) std_phi);
      // dR/dstd_x_i = -sum_j dR/dv_ij std_phi_ij / (std_x_i + 0.1)^2.
      var a = [Double](repeating: 0, count: edges)
      var b = [Double](repeating: 0, count: nIn)
      for e in 0..<edges {
        let range = stdX[e / nOut] + 0.1
        if stdPhi[e] > 0 { a[e] = scale * dv[e] / (range * stdPhi[e]) * denominator }
        b[e / nOut] -= scale * dv[e] * stdPhi[e] / (range * range)
      }
      var gCoef = [Double](repeating: 0, count: edges * nb)
      var gBase = [Double](repeating: 0, count: edges)
      var gSp = [Double](repeating: 0, count: edges)
      for s in 0..<n {
        for i in 0..<nIn {
          let xv = x[s * nIn + i]
          let xd = Double(xv)
          let sig = 1 / (1 + exp(-xd))
          let silu = xd * sig
          let siluPrime = sig * (1 + xd * (1 - sig))
          let mu = bases(i, xv, dx != nil)
          var gx = 0.0
          if dx != nil, stdX[i] > 0 {
            gx += b[i] * (xd - meanX[i]) / stdX[i] * denominator
          }
          for j in 0..<nOut {
            let e = i * nOut + j
            let ge = a[e] * (phi[s * edges + e] - meanPhi[e]) * Double(mv[e])
            if ge == 0 { continue }
            var spline = 0.0
            var slope = 0.0
            if mu >= 0 {
              let weight = ge * Double(spv[e])
              for r in 0...k {
                let m = mu - k + r
                guard m >= 0 && m < nb else { continue }
                let c = Double(cv[e * nb + m])
                spline += c * Double(values[r])
                slope += c * Double(derivs[r])
                gCoef[e * nb + m] += weight * Double(values[r])
              }
            }
            gBase[e] += ge * silu
            gSp[e] += ge * spline
            gx += ge * (Double(sbv[e]) * siluPrime + Double(spv[e]) * slope)
          }
          if let dx { dx[s * nIn + i] += Float(gx) }
        }
      }
      // Without dx the derivatives are not evaluated (stale); slope is then unused.
      for q in 0..<(edges * nb) { coef.gradient[q] += Float(gCoef[q]) }
      for e in 0..<edges {
        scaleBase.gradient[e] += Float(gBase[e])
        scaleSp.gradient[e] += Float(gSp[e])
      }
      return value
    }
  }
}

/// torch.sign: -1, 0 or 1.
@inline(__always)
private func sign(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }
