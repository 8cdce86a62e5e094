#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How a dense layer's weights are drawn. Fan-in and fan-out are the layer's input and
/// output widths, as PyTorch's `torch.nn.init` defines them.
public enum Initializer: String, CaseIterable, Sendable {
  /// Picks per layer: `siren` before a sine activation, `heUniform` before the ReLU family,
  /// `xavierUniform` otherwise.
  case auto
  /// U(-b, b), b = sqrt(6 / fan_in) (kaiming_uniform_, gain sqrt 2).
  case heUniform = "he_uniform"
  /// N(0, 2 / fan_in) (kaiming_normal_).
  case heNormal = "he_normal"
  /// U(-b, b), b = sqrt(6 / (fan_in + fan_out)).
  case xavierUniform = "xavier_uniform"
  /// N(0, 2 / (fan_in + fan_out)).
  case xavierNormal = "xavier_normal"
  /// U(-b, b), b = sqrt(3 / fan_in).
  case lecunUniform = "lecun_uniform"
  /// N(0, 1 / fan_in).
  case lecunNormal = "lecun_normal"
  /// SIREN (Sitzmann et al. 2020): U(-1/fan_in, 1/fan_in) on the first layer,
  /// U(-sqrt(6/fan_in)/omega_0, +) after it.
  case siren
  /// All zeros.
  case zeros
  /// PyTorch's `nn.Linear` default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  case torchDefault = "torch_default"

  static let aliases: [String: Initializer] = [
    "kaiming_uniform": .heUniform, "kaiming_normal": .heNormal,
    "glorot_uniform": .xavierUniform, "glorot_normal": .xavierNormal,
  ]

  /// Parses a name or alias.
  static func parse(_ name: String, what: String) throws -> Initializer {
    if let i = Initializer(rawValue: name) ?? aliases[name] { return i }
    let known = (allCases.map(\.rawValue) + aliases.keys.sorted()).joined(separator: ", ")
    throw LaminaError.invalid("\(what): unknown initializer \"\(name)\" (known: \(known))")
  }

  /// Fills `values` for a layer with the given fans. `firstLayer` and `omega0` matter to siren.
  func fill(
    _ values: inout [Float], fanIn: Int, fanOut: Int, firstLayer: Bool, omega0: Double,
    rng: inout RandomSource
  ) {
    let fi = Double(max(fanIn, 1))
    let fo = Double(max(fanOut, 1))
    func uniform(_ b: Double) { for i in values.indices { values[i] = Float(rng.uniform(-b, b)) } }
    func normal(_ s: Double) { for i in values.indices { values[i] = Float(rng.normal() * s) } }
    switch self {
    case .auto, .heUniform: uniform((6 / fi).squareRoot())
    case .heNormal: normal((2 / fi).squareRoot())
    case .xavierUniform: uniform((6 / (fi + fo)).squareRoot())
    case .xavierNormal: normal((2 / (fi + fo)).squareRoot())
    case .lecunUniform: uniform((3 / fi).squareRoot())
    case .lecunNormal: normal((1 / fi).squareRoot())
    case .siren: uniform(firstLayer ? 1 / fi : (6 / fi).squareRoot() / omega0)
    case .zeros: for i in values.indices { values[i] = 0 }
    case .torchDefault: uniform(1 / fi.squareRoot())
    }
  }
}
