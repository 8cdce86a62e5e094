#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A Kolmogorov-Arnold layer whose edge functions are dilated and shifted mother wavelets
/// (Wav-KAN, Bozorgasl & Chen 2024):
///
///     y[j] = sum_i w[j, i] psi((x[i] - tau[j, i]) / s[j, i])
///
/// with psi the spec's "wavelet":
///
///     mexican_hat  psi(t) = C (1 - t^2) exp(-t^2 / 2),  C = 2 / (sqrt(3) pi^(1/4))
///     morlet       psi(t) = cos(5 t) exp(-t^2 / 2)      (the real part, omega0 = 5)
///
/// The tensors are Wav-KAN's, [output, input] each: "scale" s (ones at first),
/// "translation" tau (zeros) and "wavelet_weights" w (U(-1/sqrt(in), 1/sqrt(in)), PyTorch's
/// default Kaiming-uniform bound). Where this departs from Wav-KAN's code, and why:
/// - no batch normalisation after the layer: it mixes every edge of an output with the
///   batch's statistics, so edges would no longer be separable (mixtures, edge curves) and
///   a prediction would depend on its batch;
/// - no base branch: Wav-KAN declares a SiLU base weight but leaves it out of the output,
///   so this layer holds no such tensor;
/// - the Mexican hat has the textbook sign (1 - t^2); Wav-KAN writes (t^2 - 1), which the
///   symmetric initialisation of w makes the same family.
/// A scale of 0 makes its edge NaN, as in Wav-KAN; nothing clamps it.
///
/// Forward and backward run over rows, outputs and inputs directly (one exponential per
/// edge and row), in the tensors' own order, so the inner loop runs over contiguous inputs.
public final class WaveletKANLayer: Layer, KANBasisLayer {
  // MARK: - Options

  /// The value of the spec's "basis" key for this layer.
  public static let basisName = "wavelet"

  /// The mother wavelets a spec may name (its "wavelet" key).
  public enum MotherWavelet: String, CaseIterable, Sendable {
    /// The Ricker wavelet, the second derivative of a Gaussian, normalised to unit energy.
    case mexicanHat = "mexican_hat"
    /// The real Morlet wavelet with centre frequency 5.
    case morlet
  }

  /// The basis-specific settings of a spec, parsed and checked before anything is allocated.
  public struct Options: Equatable, Sendable, KANBasisOptions {
    /// The mother wavelet psi (spec key "wavelet", default "mexican_hat").
    public var wavelet: MotherWavelet

    /// Settings with the spec's defaults.
    public init(wavelet: MotherWavelet = .mexicanHat) {
      self.wavelet = wavelet
    }

    /// "wavelet".
    static var basisName: String { WaveletKANLayer.basisName }

    /// Reads "wavelet" ("mexican_hat" or "morlet", default "mexican_hat").
    static func parse(_ reader: JSONObjectReader) throws -> Self {
      let name = try reader.string(
        "wavelet", default: WaveletKANLayer.MotherWavelet.mexicanHat.rawValue)
      guard let wavelet = WaveletKANLayer.MotherWavelet(rawValue: name) else {
        let known = WaveletKANLayer.MotherWavelet.allCases.map(\.rawValue).joined(separator: ", ")
        throw LaminaError.invalid(
          "\(reader.what): unknown \"wavelet\" \"\(name)\" (known: \(known))")
      }
      return Self(wavelet: wavelet)
    }

    /// "wavelet" with its value.
    var specPairs: [(String, JSONValue)] { [("wavelet", .string(wavelet.rawValue))] }

    /// Widths in 1...`Limits.maxWidth` and the three edge tensors within the parameter limit.
    func validate(input: Int, output: Int, what: String) throws {
      try KANBasis.checkWidths(input: input, output: output, what: what)
      guard input * output <= Limits.maxParameters / 3 else {
        throw LaminaError(
          .outOfMemory,
          "\(what): 3 x \(input) x \(output) edge parameters are over the limit of "
            + "\(Limits.maxParameters) parameters")
      }
    }

    /// Three tensors of `input` x `output`.
    func parameterBudget(input: Int, output: Int) -> [(Int, Int)] { [(input, 3 * output)] }

    /// `WaveletKANLayer(input:output:options:rng:)`.
    func makeLayer(input: Int, output: Int, rng: inout RandomSource) throws -> Layer {
      try WaveletKANLayer(input: input, output: output, options: self, rng: &rng)
    }
  }

  // MARK: - Construction

  /// Features per input row.
  public let inputDim: Int
  /// Features per output row.
  public let outputDim: Int
  /// The mother wavelet of every edge.
  public let wavelet: MotherWavelet
  /// "scale" s, [outputDim, inputDim].
  public let scale: Parameter
  /// "translation" tau, [outputDim, inputDim].
  public let translation: Parameter
  /// "wavelet_weights" w, [outputDim, inputDim].
  public let weight: Parameter

  /// An `input` -> `output` layer with `options`, its weights drawn from `rng` (in the
  /// tensor's row-major order). Throws `.invalidArgument` for sizes outside
  /// 1...`Limits.maxWidth`, `.outOfMemory` when the layer is over `Limits.maxParameters`.
  public init(
    input: Int, output: Int, options: Options = Options(), rng: inout RandomSource
  ) throws {
    try options.validate(input: input, output: output, what: "kan layer")
    inputDim = input
    outputDim = output
    wavelet = options.wavelet
    let count = input * output
    let bound = 1 / Double(input).squareRoot()
    var values = [Float](repeating: 0, count: count)
    for e in values.indices { values[e] = Float(rng.uniform(-bound, bound)) }
    scale = Parameter(
      name: "scale", shape: [output, input], value: [Float](repeating: 1, count: count))
    translation = Parameter(
      name: "translation", shape: [output, input], value: [Float](repeating: 0, count: count))
    weight = Parameter(name: "wavelet_weights", shape: [output, input], value: values)
  }

  /// Shares nothing with `other`.
  private init(copying other: WaveletKANLayer) {
    inputDim = other.inputDim
    outputDim = other.outputDim
    wavelet = other.wavelet
    scale = other.scale.copy()
    translation = other.translation.copy()
    weight = other.weight.copy()
  }

  // MARK: - Layer

  /// "scale", "translation", "wavelet_weights".
  public var parameters: [Parameter] { [scale, translation, weight] }

  /// `{"type": "kan", "output": O, "basis": "wavelet", "wavelet": name}`.
  public var spec: JSONValue {
    Options(wavelet: wavelet).layerSpec(input: inputDim, output: outputDim)
  }

  /// A deep copy with its own tensors.
  public func copy() -> Layer { WaveletKANLayer(copying: self) }

  // MARK: - Forward

  /// y[r, j] = sum_i w[j, i] psi((x[r, i] - tau[j, i]) / s[j, i]). Reads the layer only.
  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    let (inp, out, psi) = (inputDim, outputDim, wavelet)
    withEdgeTensors { sb, tb, wb in
      for r in 0..<n {
        let xr = x + r * inp
        for j in 0..<out {
          let e = j * inp
          var sum: Float = 0
          for i in 0..<inp {
            sum += wb[e + i] * psi.value((xr[i] - tb[e + i]) / sb[e + i])
          }
          y[r * out + j] = sum
        }
      }
    }
  }

  /// Runs `body` on the values of "scale", "translation" and "wavelet_weights".
  @inline(__always)
  private func withEdgeTensors(
    _ body: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>)
      -> Void
  ) {
    scale.value.withUnsafeBufferPointer { sb in
      translation.value.withUnsafeBufferPointer { tb in
        weight.value.withUnsafeBufferPointer { wb in body(sb, tb, wb) }
      }
    }
  }

  // MARK: - Backward

  /// With t = (x - tau) / s and g = dy[r, j] w psi'(t) / s for each edge and row:
  /// dw += dy psi(t), dtau += -g, ds += -g t, dx[r, i] = sum_j g.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, parameterGradients || dx != nil else { return }
    guard parameterGradients else {
      accumulate(x, dy, dx, count: n, nil, nil, nil)
      return
    }
    // The sums go straight into the gradients: no per-call buffers.
    scale.gradient.withUnsafeMutableBufferPointer { ds in
      translation.gradient.withUnsafeMutableBufferPointer { dt in
        weight.gradient.withUnsafeMutableBufferPointer { dw in
          accumulate(x, dy, dx, count: n, ds.baseAddress, dt.baseAddress, dw.baseAddress)
        }
      }
    }
  }

  /// The loop of `backward`: writes dx when given and adds into the parameter gradients
  /// `ds`, `dt`, `dw` ([output, input] each) when given (all three or none). Touches no
  /// gradient without them, so input gradients may run on many threads at once.
  private func accumulate(
    _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
    count n: Int, _ ds: UnsafeMutablePointer<Float>?, _ dt: UnsafeMutablePointer<Float>?,
    _ dw: UnsafeMutablePointer<Float>?
  ) {
    let (inp, out, psi) = (inputDim, outputDim, wavelet)
    if let dx { dx.update(repeating: 0, count: n * inp) }
    withEdgeTensors { sb, tb, wb in
      for r in 0..<n {
        let xr = x + r * inp
        for j in 0..<out {
          let d = dy[r * out + j]
          let e = j * inp
          for i in 0..<inp {
            let s = sb[e + i]
            let t = (xr[i] - tb[e + i]) / s
            let (value, slope) = psi.valueAndSlope(t)
            let g = d * wb[e + i] * slope / s
            if let dx { dx[r * inp + i] += g }
            if let ds, let dt, let dw {
              dw[e + i] += d * value
              dt[e + i] -= g
              ds[e + i] -= g * t
            }
          }
        }
      }
    }
  }

  // MARK: - Edge layout and edge curves

  /// Only "wavelet_weights" scales with its edge ([output, input]): a mixed layer weights it,
  /// and `KANSeparableEdges` zeroes the other edges' weights (scale and translation stay, so
  /// no edge divides by zero).
  func edgeLayouts() throws -> [KANEdgeLayout?] {
    edgeLayouts([(weight, .edges(repeats: 1, outputMajor: true, inner: 1))])
  }
}

extension WaveletKANLayer: KANEdgeFunctions {
  /// phi_ij(x) = w[j, i] psi((x - tau[j, i]) / s[j, i]) (see `KANSeparableEdges`).
  public func edgeValues(
    input i: Int, output j: Int, at x: UnsafePointer<Float>, count n: Int,
    into y: UnsafeMutablePointer<Float>
  ) {
    KANSeparableEdges.values(of: self, input: i, output: j, at: x, count: n, into: y)
  }
}

extension WaveletKANLayer.MotherWavelet {
  /// 2 / (sqrt(3) pi^(1/4)), which gives the Mexican hat unit L2 norm.
  static let mexicanHatNorm = Float(2 / (3.0.squareRoot() * Double.pi.squareRoot().squareRoot()))
  /// The Morlet wavelet's centre frequency omega0.
  static let morletFrequency: Float = 5

  /// psi(t).
  @inline(__always)
  func value(_ t: Float) -> Float {
    let envelope = exp(-t * t / 2)
    switch self {
    case .mexicanHat: return Self.mexicanHatNorm * (1 - t * t) * envelope
    case .morlet: return cos(Self.morletFrequency * t) * envelope
    }
  }

  /// psi(t) and psi'(t): C t (t^2 - 3) exp(-t^2/2) for the Mexican hat,
  /// -(5 sin(5 t) + t cos(5 t)) exp(-t^2/2) for Morlet.
  @inline(__always)
  func valueAndSlope(_ t: Float) -> (Float, Float) {
    let envelope = exp(-t * t / 2)
    switch self {
    case .mexicanHat:
      let c = Self.mexicanHatNorm * envelope
      return (c * (1 - t * t), c * t * (t * t - 3))
    case .morlet:
      let w = Self.morletFrequency
      let (c, s) = (cos(w * t), sin(w * t))
      return (c * envelope, -(w * s + t * c) * envelope)
    }
  }
}
