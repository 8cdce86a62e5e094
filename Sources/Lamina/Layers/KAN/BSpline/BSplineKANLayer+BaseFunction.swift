#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The base branch b of a B-spline layer's edges, phi = scale_base * b(x) + scale_sp *
/// spline(x): pykan's `base_fun` (spec key "base_fun"). Every pass that evaluates b or its
/// derivatives asks this type: the basis blocks (`KANBlock.prepare`, so forward, backward,
/// input gradients, edge curves and the cached blocks of training), the dense path's
/// derivative column, the jets' derivatives and the regulariser. The SiLU branch keeps the
/// operations it always had, so SiLU layers give the same bits as before the key existed.
extension BSplineKANLayer {
  public enum BaseFunction: String, CaseIterable, Equatable, Sendable {
    /// b(x) = x sigmoid(x) (pykan's default, `torch.nn.SiLU()`).
    case silu
    /// b(x) = x (pykan's `base_fun='identity'`, as its tutorials API_4 and Interp_1 use).
    case identity
    /// b(x) = 0 (pykan's `base_fun='zero'`): pure splines; scale_base gets no gradient.
    case zero

    /// The names a spec may give, for error messages.
    static var known: String { allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") }

    /// Writes b(x) (or b'(x) when `derivative`) of `count` floats of `x` (a whole number of
    /// vectors: the caller pads) to `out`, and b'(x) to `prime` when given, eight at a time.
    /// SiLU: s = sigmoid(x), b = x s, b' = s (1 + x (1 - s)), as the blocks always did.
    @inline(__always)
    func write(
      _ x: UnsafePointer<Float>, count padded: Int, derivative: Bool,
      into out: UnsafeMutablePointer<Float>, prime: UnsafeMutablePointer<Float>?
    ) {
      switch self {
      case .silu:
        var q = 0
        while q < padded {
          let v = load8(x + q)
          let s = KANMath.sigmoid(v)
          store8(derivative ? s * (1 + v * (1 - s)) : v * s, out + q)
          if let prime { store8(s * (1 + v * (1 - s)), prime + q) }
          q += 8
        }
      case .identity:
        if derivative {
          out.update(repeating: 1, count: padded)
        } else {
          out.update(from: x, count: padded)
        }
        prime?.update(repeating: 1, count: padded)
      case .zero:
        out.update(repeating: 0, count: padded)
        prime?.update(repeating: 0, count: padded)
      }
    }

    /// b'(x), b''(x) and (when `d3` is given) b'''(x) of `count` floats, for the jets.
    func derivatives(
      _ x: UnsafePointer<Float>, count: Int, d1: UnsafeMutablePointer<Float>,
      d2: UnsafeMutablePointer<Float>, d3: UnsafeMutablePointer<Float>?
    ) {
      switch self {
      case .silu: Activation.silu.derivatives(x, count: count, d1: d1, d2: d2, d3: d3)
      case .identity: Activation.identity.derivatives(x, count: count, d1: d1, d2: d2, d3: d3)
      case .zero:
        d1.update(repeating: 0, count: count)
        d2.update(repeating: 0, count: count)
        d3?.update(repeating: 0, count: count)
      }
    }

    /// b(x) in Double as the regulariser's first pass computes it (SiLU: x / (1 + e^-x)).
    @inline(__always)
    func value(_ x: Double) -> Double {
      switch self {
      case .silu: return x / (1 + exp(-x))
      case .identity: return x
      case .zero: return 0
      }
    }

    /// b(x) and b'(x) in Double as the regulariser's gradient pass computes them (SiLU:
    /// x sigmoid(x) and sigmoid(x) (1 + x (1 - sigmoid(x)))).
    @inline(__always)
    func valueAndSlope(_ x: Double) -> (value: Double, slope: Double) {
      switch self {
      case .silu:
        let sig = 1 / (1 + exp(-x))
        return (x * sig, sig * (1 + x * (1 - sig)))
      case .identity: return (x, 1)
      case .zero: return (0, 0)
      }
    }
  }
}
