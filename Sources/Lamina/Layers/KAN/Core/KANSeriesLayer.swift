/// The scaffolding shared by KAN layers that evaluate a series basis (a fixed number of
/// basis values per input, set by one integer key) into a block of rows and contract it
/// with their coefficients by sgemm: Chebyshev and Fourier. Calls from these layers are
/// resolved for the concrete layer at compile time; nothing here runs per element.
protocol KANSeriesLayer: KANBasisLayer {
  /// Basis values per row of the block the layer's sgemm reads.
  var basisWidth: Int { get }
}

extension KANSeriesLayer {
  /// Rows per block so that one block of basis values stays near 1 MB whatever `n` is.
  func blockRows(_ n: Int) -> Int {
    min(n, max(1, 262_144 / basisWidth))
  }

  /// Parses the basis keys from `reader` (see `Options.parse`) and builds an `input` ->
  /// `output` layer, drawing its coefficients from `rng`. Throws `.invalidArgument` naming
  /// the key for a bad value, `.outOfMemory` when the layer alone is over
  /// `Limits.maxParameters`.
  static func parse(
    _ reader: JSONObjectReader, input: Int, output: Int, rng: inout RandomSource
  ) throws -> Self {
    try Self(input: input, output: output, options: Options.parse(reader), rng: &rng)
  }

  /// Throws `.invalidArgument` unless `input` and `output` are in 1...`Limits.maxWidth`
  /// and the size key `key` = `value` is in `range`; `what` names the layer.
  static func checkShape(
    input: Int, output: Int, key: String, value: Int, range: ClosedRange<Int>, what: String
  ) throws {
    try KANBasis.checkWidths(input: input, output: output, what: what)
    guard range.contains(value) else {
      throw LaminaError.invalid(
        "\(what): \"\(key)\" is \(value); it must be between "
          + "\(range.lowerBound) and \(range.upperBound)")
    }
  }
}
