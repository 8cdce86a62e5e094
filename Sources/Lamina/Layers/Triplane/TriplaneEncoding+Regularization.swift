/// Regularisers on the planes, for the trainer to add to its loss.
///
/// Both are normalised per plane so their weights do not depend on the resolution, the
/// channel count or the number of fields:
/// - total variation, as K-Planes' `compute_plane_tv`: for each plane (C x R x R),
///   `2 * (sum of squared differences of vertically adjacent texels / (C (R - 1) R)
///   + sum of squared differences of horizontally adjacent texels / (C R (R - 1)))`;
/// - L2: for each plane, the mean of its squared texels.
/// Each is summed over the three planes and the levels, and averaged over the fields.
extension TriplaneEncoding {
  /// The two regularisers' current values (no gradients).
  public func planeRegularization() -> (tv: Double, l2: Double) {
    var tv = 0.0
    var l2 = 0.0
    for (l, level) in levels.enumerated() {
      let r = geometry[l].resolution
      level.value.withUnsafeBufferPointer { vb in
        let t = Self.regularize(
          vb.baseAddress!, gradient: nil, resolution: r, channels: options.channels,
          planes: options.fields * 3, tvWeight: 0, l2Weight: 0)
        tv += t.tv
        l2 += t.l2
      }
    }
    let f = Double(options.fields)
    return (tv / f, l2 / f)
  }

  /// Returns `tv * TV + l2 * L2` (see above) and adds its gradient with respect to the
  /// planes into each level's `gradient`. Changes the layer (its gradients): call it with
  /// exclusive access, as a training step is. Deterministic (one thread, fixed order).
  @discardableResult
  public func addPlaneRegularization(tv tvWeight: Float, l2 l2Weight: Float) -> Float {
    guard tvWeight != 0 || l2Weight != 0 else { return 0 }
    var total = 0.0
    let f = Double(options.fields)
    for (l, level) in levels.enumerated() {
      let r = geometry[l].resolution
      level.value.withUnsafeBufferPointer { vb in
        level.gradient.withUnsafeMutableBufferPointer { gb in
          let t = Self.regularize(
            vb.baseAddress!, gradient: gb.baseAddress!, resolution: r, channels: options.channels,
            planes: options.fields * 3, tvWeight: Double(tvWeight) / f,
            l2Weight: Double(l2Weight) / f)
          total += Double(tvWeight) * t.tv / f + Double(l2Weight) * t.l2 / f
        }
      }
    }
    return Float(total)
  }

  /// Sums the per-plane TV and L2 over `planes` planes of C x R x R at `v`; when `gradient`
  /// is given, adds tvWeight * dTV/dv + l2Weight * dL2/dv into it.
  static func regularize(
    _ v: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>?, resolution r: Int,
    channels c: Int, planes: Int, tvWeight: Double, l2Weight: Double
  ) -> (tv: Double, l2: Double) {
    let rr = r * r
    let pairs = Double(c * (r - 1) * r)  // per direction, per plane
    let texels = Double(c * rr)
    var tv = 0.0
    var l2 = 0.0
    // d/dv of 2 * sum(d^2) / pairs is 4 d / pairs on one side of each pair, -4 d / pairs on
    // the other; of mean(v^2) it is 2 v / texels.
    let gt = Float(4 * tvWeight / pairs)
    let gl = Float(2 * l2Weight / texels)
    for p in 0..<planes {
      var sh = 0.0
      var sw = 0.0
      var sq = 0.0
      for ch in 0..<c {
        let base = (p * c + ch) * rr
        let q = v + base
        let g = gradient.map { $0 + base }
        for h in 0..<r {
          let row = q + h * r
          for w in 0..<r {
            let value = row[w]
            sq += Double(value) * Double(value)
            if let g { g[h * r + w] += gl * value }
            if w + 1 < r {
              let d = row[w + 1] - value
              sw += Double(d) * Double(d)
              if let g {
                g[h * r + w + 1] += gt * d
                g[h * r + w] -= gt * d
              }
            }
            if h + 1 < r {
              let d = row[r + w] - value
              sh += Double(d) * Double(d)
              if let g {
                g[(h + 1) * r + w] += gt * d
                g[h * r + w] -= gt * d
              }
            }
          }
        }
      }
      tv += 2 * (sh / pairs + sw / pairs)
      l2 += sq / texels
    }
    return (tv, l2)
  }
}
