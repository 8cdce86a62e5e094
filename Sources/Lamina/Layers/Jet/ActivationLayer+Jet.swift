/// Elementwise activations in jet passes: for y = f(v), the first derivatives are
/// f'(v) J and the second f''(v) J^2 + f'(v) H, per input direction.
extension ActivationLayer: JetLayer {
  /// Elements per block of derivative scratch: small enough for the stack and the L1 cache.
  private static let jetBlock = 256

  public func jetForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape
  ) {
    let total = shape.rows * width
    guard total > 0 else { return }
    activation.forward(x, y, count: total, slope: slope)
    let (dirs, second) = (shape.directions, shape.order == 2)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * Self.jetBlock) { scratch in
      let (d1, d2) = (scratch.baseAddress!, scratch.baseAddress! + Self.jetBlock)
      var start = 0
      while start < total {
        let m = min(Self.jetBlock, total - start)
        activation.derivatives(x + start, count: m, slope: slope, d1: d1, d2: d2, d3: nil)
        for d in 0..<dirs {
          let j = x + (1 + d) * total + start
          let jy = y + (1 + d) * total + start
          if second {
            let h = x + (1 + dirs + d) * total + start
            let hy = y + (1 + dirs + d) * total + start
            for e in 0..<m { hy[e] = d2[e] * j[e] * j[e] + d1[e] * h[e] }
          }
          for e in 0..<m { jy[e] = d1[e] * j[e] }
        }
        start += m
      }
    }
  }

  public func jetBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, shape: JetShape, parameterGradients: Bool
  ) {
    let total = shape.rows * width
    guard total > 0 else { return }
    let (dirs, second) = (shape.directions, shape.order == 2)
    let prelu = parameterGradients && !parameters.isEmpty
    // PReLU: y = a v, a J, a H where v <= 0, so d/da collects those streams' adjoints.
    var slopeGradient = 0.0
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * Self.jetBlock) { scratch in
      let base = scratch.baseAddress!
      let (d1, d2, d3) = (base, base + Self.jetBlock, base + 2 * Self.jetBlock)
      var start = 0
      while start < total {
        let m = min(Self.jetBlock, total - start)
        activation.derivatives(
          x + start, count: m, slope: slope, d1: d1, d2: d2, d3: second ? d3 : nil)
        if prelu {
          for e in 0..<m where !(x[start + e] > 0) {
            var s = Double(dy[start + e]) * Double(x[start + e])
            for stream in 1..<shape.streams {
              let o = stream * total + start + e
              s += Double(dy[o]) * Double(x[o])
            }
            slopeGradient += s
          }
        }
        if let dx {
          let g0 = dx + start
          for e in 0..<m { g0[e] = d1[e] * dy[start + e] }
          for d in 0..<dirs {
            let o = (1 + d) * total + start
            let (j, gj, gxj) = (x + o, dy + o, dx + o)
            if second {
              let oh = (1 + dirs + d) * total + start
              let (h, gh, gxh) = (x + oh, dy + oh, dx + oh)
              for e in 0..<m {
                let je = j[e]
                g0[e] += gj[e] * d2[e] * je + gh[e] * (d3[e] * je * je + d2[e] * h[e])
                gxj[e] = d1[e] * gj[e] + 2 * d2[e] * je * gh[e]
                gxh[e] = d1[e] * gh[e]
              }
            } else {
              for e in 0..<m {
                g0[e] += gj[e] * d2[e] * j[e]
                gxj[e] = d1[e] * gj[e]
              }
            }
          }
        }
        start += m
      }
    }
    if prelu, let weight = parameters.first { weight.gradient[0] += Float(slopeGradient) }
  }
}
