#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// pykan's sparsity regulariser of one B-spline KAN layer (`MultKAN.reg`), its value and its
/// exact gradient.
///
/// For a batch x (n rows) pykan's forward records, per edge (i, j), a score v_ij; for
/// reg_metric "edge_forward_spline_n" (the default)
///
///     v_ij = std_s(phi_ij(x_si)) / (std_s(x_si) + 0.1)
///
/// (unbiased std, as `torch.std`; phi_ij = mask * (scale_base * b + scale_sp * spline), b the
/// base function, SiLU unless "base_fun" names another;
/// the numerical branch only), and the layer's regulariser is
///
///     l1 * sum v + entropy * (H_rows + H_cols)
///       + coefL1 * sum|coef| / out + coefDiff * sum|coef[.., m+1] - coef[.., m]| / out
///
/// where H_rows = -mean_j sum_i p log2(p + 1e-4) with p = v_ij / (sum_i v_ij + 1), and
/// H_cols likewise with the sums over j (pykan's `vec` is [out, in]: rows are outputs).
/// Nothing is detached, so the gradient reaches coef, scale_base, scale_sp and, through
/// both the edge values and std(x), the layer's input (and so earlier layers).
///
/// pykan's other forward scores: "edge_forward_spline_u" is `edge_actscale`,
/// v_ij = std_s(phi_ij(x_si)) without the division (differentiable the same way), and
/// "edge_forward_sum" is `acts_scale`, the "spline_n" value detached (pykan computes it with
/// `.detach()`), so its l1 and entropy terms add to the value but not to any gradient. Both
/// of pykan's include the symbolic branch's edge outputs; Lamina refuses them on layers
/// with symbolic edges (see `Model.checkRegularization`), where they equal these.
extension BSplineKANLayer {
  /// The edge score of the regulariser (pykan's `reg_metric`).
  enum ScoreMetric {
    /// "edge_forward_spline_n": std(phi) / (std(x) + 0.1), differentiable.
    case splineN
    /// "edge_forward_spline_u": std(phi), differentiable.
    case splineU
    /// "edge_forward_sum": std(phi) / (std(x) + 0.1), detached.
    case sum

    /// The metric of pykan's name, or nil.
    init?(name: String) {
      switch name {
      case "edge_forward_spline_n": self = .splineN
      case "edge_forward_spline_u": self = .splineU
      case "edge_forward_sum": self = .sum
      default: return nil
      }
    }

    /// Whether v divides by the input's std + 0.1.
    var dividesByInputStd: Bool { self != .splineU }
    /// Whether gradients flow through v (pykan detaches "edge_forward_sum").
    var isDifferentiable: Bool { self != .sum }
  }

  /// The regularisation weights of one call (pykan's `reg` arguments).
  struct SparsityWeights {
    var l1: Double
    var entropy: Double
    var coef: Double
    var coefDiff: Double
    var metric: ScoreMetric = .splineN
  }

  /// Whether any edge has an active symbolic function (a non-zero symbolic mask).
  var hasSymbolicEdges: Bool {
    symbolicTensors?.mask.value.contains { $0 != 0 } ?? false
  }

  /// This layer's regulariser on the `n` rows of `x`. When `scale` is non-nil, adds
  /// scale * dR/dparameter into the parameters' gradients and, when `dx` is non-nil,
  /// scale * dR/dx into `dx` (n x inputDim, added to what is there).
  ///
  /// With fewer than two rows the std is taken as 0 (torch gives NaN), so only the
  /// coefficient terms remain. A zero std contributes no gradient (torch: NaN).
  /// Cost O(n * in * out * (k + 1)), one task per input (on several threads for large
  /// calls, with bit-identical results). Scratch comes from `scratch`, O(in * out * (G + k))
  /// Doubles shared plus n * out Doubles per running task, and is reused: after the first
  /// call at a given size nothing is allocated on one thread.
  func sparsityRegularization(
    _ x: UnsafePointer<Float>, count n: Int, weights w: SparsityWeights, scratch: ScratchPool,
    gradientScale scale: Double?, dx: UnsafeMutablePointer<Float>?
  ) -> Double {
    let (nIn, nOut, nb, k) = (inputDim, outputDim, options.basisCount, options.order)
    let edges = nIn * nOut
    let knotCount = grid.shape[1]
    let baseFunction = options.baseFunction
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

    // Pass 1 and pass 2 run one task per input i: every edge i -> j, its statistics and its
    // gradient belong to exactly one task, and each task sums over the samples in order, so
    // the result is bit-identical whether the tasks run in order on this thread or on
    // several threads, and equal to the single-threaded formulation (edge values are
    // recomputed in pass 2 with the same operations instead of being kept, which needs
    // n * out Doubles per running task instead of n * in * out).
    let edgeCount = edges
    let gCount = max(nIn, nOut)
    let sharedDoubles = 3 * nIn + 7 * edgeCount + gCount + edgeCount * nb
    let basisFloats = 5 * (k + 1)
    let divide = w.metric.dividesByInputStd
    let differentiable = w.metric.isDifferentiable
    // Cost of one pass, for the decision to use several threads.
    let work = n * edgeCount * (k + 2)
    return scratch.withBuffers(doubles: sharedDoubles, floats: 0) { shared, _ in
      let meanX = shared
      let stdX = meanX + nIn
      let b = stdX + nIn
      let meanPhi = b + nIn
      let stdPhi = meanPhi + edgeCount
      let v = stdPhi + edgeCount
      let dv = v + edgeCount
      let a = dv + edgeCount
      let gBase = a + edgeCount
      let gSp = gBase + edgeCount
      let g = gSp + edgeCount
      let gCoef = g + gCount
      let denominator = 1 / Double(n - 1)

      coef.value.withUnsafeBufferPointer { cvb in
        scaleBase.value.withUnsafeBufferPointer { sbb in
          scaleSp.value.withUnsafeBufferPointer { spb in
            mask.value.withUnsafeBufferPointer { mb in
              grid.value.withUnsafeBufferPointer { gb in
                let (cv, sbv, spv, mv, t0) = (
                  cvb.baseAddress!, sbb.baseAddress!, spb.baseAddress!, mb.baseAddress!,
                  gb.baseAddress!
                )
                // Pass 1: input i's mean and std, every edge value phi_ij(x_si) (kept for
                // this input only), the edges' means, stds and scores v.
                Self.parallel(nIn, work: work) { i in
                  scratch.withBuffers(doubles: n * nOut, floats: basisFloats) { phi, fl in
                    let locator = BSpline.Locator(knots: t0 + i * knotCount, count: knotCount)
                    let values = fl
                    let scratchFloats = fl + 2 * (k + 1)
                    for s in 0..<n {
                      let xv = x[s * nIn + i]
                      let silu = baseFunction.value(Double(xv))
                      let mu = locator.interval(xv)
                      if mu >= 0 {
                        BSpline.evaluate(
                          xv, interval: mu, knots: t0 + i * knotCount, lastKnot: knotCount - 1,
                          order: k, values: values, derivatives: nil, scratch: scratchFloats)
                      }
                      for j in 0..<nOut {
                        let e = i * nOut + j
                        var spline = 0.0
                        if mu >= 0 {
                          for r in 0...k {
                            let m = mu - k + r
                            if m >= 0 && m < nb {
                              spline += Double(cv[e * nb + m]) * Double(values[r])
                            }
                          }
                        }
                        phi[s * nOut + j] =
                          Double(mv[e]) * (Double(sbv[e]) * silu + Double(spv[e]) * spline)
                      }
                    }
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
                    let range = divide ? stdX[i] + 0.1 : 1
                    for j in 0..<nOut {
                      let e = i * nOut + j
                      var total = 0.0
                      for s in 0..<n { total += phi[s * nOut + j] }
                      let meanE = total / Double(n)
                      var sqE = 0.0
                      for s in 0..<n {
                        let d = phi[s * nOut + j] - meanE
                        sqE += d * d
                      }
                      meanPhi[e] = meanE
                      stdPhi[e] = (sqE * denominator).squareRoot()
                      v[e] = divide ? stdPhi[e] / range : stdPhi[e]
                    }
                  }
                }
              }
            }
          }
        }
      }

      // The score terms and dR/dv (O(in * out), on this thread).
      let ln2 = log(2.0)
      // One entropy group: the edges `index(0..<count)`, averaged over `groups` groups.
      func entropy(count: Int, groups: Int, _ index: (Int) -> Int) -> Double {
        var sum = 0.0
        for q in 0..<count { sum += v[index(q)] }
        let z = sum + 1
        var h = 0.0
        var gv = 0.0  // sum_q g_q v_q, g = dH/dp
        for q in 0..<count {
          let p = v[index(q)] / z
          h -= p * log2(p + 1e-4)
          g[q] = -(log2(p + 1e-4) + p / ((p + 1e-4) * ln2))
          gv += g[q] * v[index(q)]
        }
        let factor = w.entropy / Double(groups)
        for q in 0..<count {
          dv[index(q)] += factor * (g[q] / z - gv / (z * z))
        }
        return h / Double(groups)
      }
      var l1 = 0.0
      for e in 0..<edgeCount {
        l1 += v[e]
        dv[e] = w.l1
      }
      var entropyRows = 0.0
      var entropyCols = 0.0
      if w.entropy != 0 {
        // Rows of pykan's [out, in] matrix: one output j, summed over inputs i.
        for j in 0..<nOut { entropyRows += entropy(count: nIn, groups: nOut) { $0 * nOut + j } }
        for i in 0..<nIn { entropyCols += entropy(count: nOut, groups: nIn) { i * nOut + $0 } }
      }
      let value = total + w.l1 * l1 + w.entropy * (entropyRows + entropyCols)
      // pykan detaches the scores of "edge_forward_sum": only the coefficient terms train.
      guard let scale, differentiable else { return value }
      let (trainsBase, trainsSp) = (options.sbTrainable, options.spTrainable)

      // Pass 2: dR/dphi_ij(s) = a_ij (phi - mean), a = dR/dv / (range (n - 1) std_phi) with
      // range = std_x + 0.1 ("edge_forward_spline_n") or 1 ("edge_forward_spline_u");
      // dR/dstd_x_i = -sum_j dR/dv_ij std_phi_ij / range_i^2 when the score divides by it.
      for i in 0..<nIn { b[i] = 0 }
      for e in 0..<edgeCount {
        let range = divide ? stdX[e / nOut] + 0.1 : 1
        a[e] = stdPhi[e] > 0 ? scale * dv[e] / (range * stdPhi[e]) * denominator : 0
        if divide { b[e / nOut] -= scale * dv[e] * stdPhi[e] / (range * range) }
      }
      coef.value.withUnsafeBufferPointer { cvb in
        scaleBase.value.withUnsafeBufferPointer { sbb in
          scaleSp.value.withUnsafeBufferPointer { spb in
            mask.value.withUnsafeBufferPointer { mb in
              grid.value.withUnsafeBufferPointer { gb in
                coef.gradient.withUnsafeMutableBufferPointer { cgb in
                  scaleBase.gradient.withUnsafeMutableBufferPointer { bgb in
                    scaleSp.gradient.withUnsafeMutableBufferPointer { sgb in
                      let (cv, sbv, spv, mv, t0) = (
                        cvb.baseAddress!, sbb.baseAddress!, spb.baseAddress!, mb.baseAddress!,
                        gb.baseAddress!
                      )
                      let (coefGrad, baseGrad, spGrad) = (
                        cgb.baseAddress!, bgb.baseAddress!, sgb.baseAddress!
                      )
                      Self.parallel(nIn, work: work) { i in
                        scratch.withBuffers(doubles: 0, floats: basisFloats) { _, fl in
                          let locator = BSpline.Locator(
                            knots: t0 + i * knotCount, count: knotCount)
                          let values = fl
                          let derivs = fl + (k + 1)
                          let scratchFloats = fl + 2 * (k + 1)
                          let first = i * nOut
                          for q in (first * nb)..<((first + nOut) * nb) { gCoef[q] = 0 }
                          for e in first..<(first + nOut) {
                            gBase[e] = 0
                            gSp[e] = 0
                          }
                          for s in 0..<n {
                            let xv = x[s * nIn + i]
                            let xd = Double(xv)
                            // As pass 1 computed it, so the recomputed phi is the same.
                            let siluValue = baseFunction.value(xd)
                            let (silu, siluPrime) = baseFunction.valueAndSlope(xd)
                            let mu = locator.interval(xv)
                            if mu >= 0 {
                              BSpline.evaluate(
                                xv, interval: mu, knots: t0 + i * knotCount,
                                lastKnot: knotCount - 1, order: k, values: values,
                                derivatives: dx != nil ? derivs : nil, scratch: scratchFloats)
                            }
                            var gx = 0.0
                            if dx != nil, divide, stdX[i] > 0 {
                              gx += b[i] * (xd - meanX[i]) / stdX[i] * denominator
                            }
                            for j in 0..<nOut {
                              let e = first + j
                              var spline = 0.0
                              if mu >= 0 {
                                for r in 0...k {
                                  let m = mu - k + r
                                  if m >= 0 && m < nb {
                                    spline += Double(cv[e * nb + m]) * Double(values[r])
                                  }
                                }
                              }
                              let phi =
                                Double(mv[e])
                                * (Double(sbv[e]) * siluValue + Double(spv[e]) * spline)
                              let ge = a[e] * (phi - meanPhi[e]) * Double(mv[e])
                              if ge == 0 { continue }
                              var slope = 0.0
                              if mu >= 0 {
                                let weight = ge * Double(spv[e])
                                for r in 0...k {
                                  let m = mu - k + r
                                  guard m >= 0 && m < nb else { continue }
                                  // Without dx the derivatives are not evaluated (stale);
                                  // slope is then unused.
                                  slope += Double(cv[e * nb + m]) * Double(derivs[r])
                                  gCoef[e * nb + m] += weight * Double(values[r])
                                }
                              }
                              gBase[e] += ge * silu
                              gSp[e] += ge * spline
                              gx += ge * (Double(sbv[e]) * siluPrime + Double(spv[e]) * slope)
                            }
                            if let dx { dx[s * nIn + i] += Float(gx) }
                          }
                          for q in (first * nb)..<((first + nOut) * nb) {
                            coefGrad[q] += Float(gCoef[q])
                          }
                          for e in first..<(first + nOut) {
                            if trainsBase { baseGrad[e] += Float(gBase[e]) }
                            if trainsSp { spGrad[e] += Float(gSp[e]) }
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
      }
      return value
    }
  }
}

/// torch.sign: -1, 0 or 1.
@inline(__always)
private func sign(_ v: Double) -> Double { v > 0 ? 1 : (v < 0 ? -1 : 0) }
