#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Generalized winding numbers (Jacobson et al. 2013), evaluated fast with the hierarchical
/// approximation of Barill et al. 2018 ("Fast winding numbers for soups and clouds").
///
/// The winding number of a surface at `q` is its total signed solid angle seen from `q` over
/// 4 pi: 1 inside a closed, outward-oriented mesh, 0 outside, and a smooth value in between
/// near holes and cracks, so `w > 1/2` decides inside robustly for meshes that are not quite
/// watertight.
///
/// Far from a node (its expansion centre `p` farther than `beta` times the node's radius
/// from `q`), the node's triangles are replaced by the Taylor expansion of the kernel
/// `K(x) = (x - q) / (4 pi |x - q|^3)` about `p`, to first order (Barill's orders 0 and 1):
///
///     w_node ~= K(p) . N  +  sum_ij dK_i/dx_j(p) M_ij
///     N    = sum_t a_t n_t                (area-weighted normals: the dipole)
///     M_ij = sum_t a_t n_{t,i} (c_t - p)_j (c_t: triangle centroid; exact, the integrand is
///                                            linear over a triangle)
///     dK_i/dx_j = (delta_ij / r^3 - 3 r_i r_j / r^5) / (4 pi),  r = p - q
///
/// Near nodes recurse; leaves near `q` sum exact solid angles (Van Oosterom and Strackee).
extension TriangleBVH {
  /// Fills `centers`, `dipoles` and `moments` bottom-up (children have larger indices than
  /// their parents, so one reverse pass sees every child before its parent). Sums are in
  /// double precision; the radius bound is the farthest box corner from the centre.
  func computeMoments() {
    guard nodeCount > 0 else { return }
    // Per node: area A, area-weighted centroid sum S, dipole N, and P = sum (a n) c^T.
    var area = [Double](repeating: 0, count: nodeCount)
    var sum = [SIMD3<Double>](repeating: .zero, count: nodeCount)
    var dipole = [SIMD3<Double>](repeating: .zero, count: nodeCount)
    var outer = [Double](repeating: 0, count: 9 * nodeCount)
    for index in stride(from: nodeCount - 1, through: 0, by: -1) {
      let node = nodes[index]
      if node.count > 0 {
        let first = Int(node.first)
        for i in first..<(first + Int(node.count)) {
          let a = SIMD3<Double>(corners[3 * i])
          let b = SIMD3<Double>(corners[3 * i + 1])
          let c = SIMD3<Double>(corners[3 * i + 2])
          let e1 = b - a
          let e2 = c - a
          // Half the cross product: area times unit normal.
          let an =
            0.5
            * SIMD3(e1.y * e2.z - e1.z * e2.y, e1.z * e2.x - e1.x * e2.z, e1.x * e2.y - e1.y * e2.x)
          let ta = (an * an).sum().squareRoot()
          let centroid = (a + b + c) / 3
          area[index] += ta
          sum[index] += ta * centroid
          dipole[index] += an
          for r in 0..<3 {
            for col in 0..<3 { outer[9 * index + 3 * r + col] += an[r] * centroid[col] }
          }
        }
      } else {
        for child in [Int(node.first), Int(node.first) + 1] {
          area[index] += area[child]
          sum[index] += sum[child]
          dipole[index] += dipole[child]
          for k in 0..<9 { outer[9 * index + k] += outer[9 * child + k] }
        }
      }
      let lo = SIMD3<Double>(node.lo)
      let hi = SIMD3<Double>(node.hi)
      let center = area[index] > 0 ? sum[index] / area[index] : (lo + hi) / 2
      // Farthest corner of the box from the centre bounds every triangle point's distance.
      let far = pointwiseMax(center - lo, hi - center)
      let radius = (far * far).sum().squareRoot()
      let approach = Double(beta) * radius
      centers[index] = SIMD4(
        Float(center.x), Float(center.y), Float(center.z), Float(approach * approach))
      dipoles[index] = SIMD3<Float>(dipole[index])
      // M = P - N center^T.
      for r in 0..<3 {
        for col in 0..<3 {
          moments[9 * index + 3 * r + col] = Float(
            outer[9 * index + 3 * r + col] - dipole[index][r] * center[col])
        }
      }
    }
  }

  /// Signed solid angle of triangle `(a, b, c)` seen from `q`, over 4 pi: positive when `q`
  /// is on the side its right-hand-rule normal points away from (inside a closed mesh).
  @inline(__always)
  static func solidAngleFraction(
    _ q: SIMD3<Float>, _ a: SIMD3<Float>, _ b: SIMD3<Float>, _ c: SIMD3<Float>
  ) -> Float {
    let x = a - q
    let y = b - q
    let z = c - q
    let lx = (x * x).sum().squareRoot()
    let ly = (y * y).sum().squareRoot()
    let lz = (z * z).sum().squareRoot()
    let det = (x * cross(y, z)).sum()
    let den = lx * ly * lz + (x * y).sum() * lz + (y * z).sum() * lx + (z * x).sum() * ly
    // tan(omega / 2) = det / den (Van Oosterom and Strackee 1983).
    return atan2f(det, den) * Float(1 / (2 * Double.pi))
  }

  /// The generalized winding number of the mesh at `q`: about 1 inside, 0 outside.
  public func windingNumber(at q: SIMD3<Float>) -> Float {
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxDepth + 2) { stack in
      windingNumber(at: q, stack: stack.baseAddress!)
    }
  }

  /// `windingNumber(at:)` with a caller's stack of at least `maxDepth + 2` entries.
  @inline(__always)
  func windingNumber(at q: SIMD3<Float>, stack: UnsafeMutablePointer<Int32>) -> Float {
    guard nodeCount > 0 else { return 0 }
    let inverseFourPi = Float(1 / (4 * Double.pi))
    var w: Float = 0
    stack[0] = 0
    var top = 1
    while top > 0 {
      top -= 1
      let index = Int(stack[top])
      let center = centers[index]
      let r = SIMD3(center.x, center.y, center.z) - q
      let r2 = (r * r).sum()
      if r2 > center.w {
        // Far: the expansion about the centre.
        let inverse = 1 / r2.squareRoot()
        let inverse3 = inverse * inverse * inverse
        let inverse5 = inverse3 * inverse * inverse
        let m = moments + 9 * index
        let mr = SIMD3(
          m[0] * r.x + m[1] * r.y + m[2] * r.z,
          m[3] * r.x + m[4] * r.y + m[5] * r.z,
          m[6] * r.x + m[7] * r.y + m[8] * r.z)
        let zeroth = (dipoles[index] * r).sum() * inverse3
        let first = (m[0] + m[4] + m[8]) * inverse3 - 3 * (r * mr).sum() * inverse5
        w += (zeroth + first) * inverseFourPi
        continue
      }
      let node = nodes[index]
      if node.count > 0 {
        let first = Int(node.first)
        for i in first..<(first + Int(node.count)) {
          w += Self.solidAngleFraction(q, corners[3 * i], corners[3 * i + 1], corners[3 * i + 2])
        }
      } else {
        stack[top] = node.first
        stack[top + 1] = node.first + 1
        top += 2
      }
    }
    return w
  }
}
