#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A small, seeded, portable random generator (SplitMix64), so that the same seed gives the
/// same weights and batches on every platform and from every language.
public struct RandomSource: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// Starts the stream at `seed`.
  public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

  /// The generator's whole state: a trainer state file saves it, and setting it back
  /// resumes the stream exactly where it was (every UInt64 is a valid state).
  var rawState: UInt64 {
    get { state }
    set { state = newValue }
  }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1) with 53 random bits.
  public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

  /// Uniform in [low, high).
  public mutating func uniform(_ low: Double, _ high: Double) -> Double {
    low + (high - low) * unit()
  }

  /// Standard normal by Box-Muller (one value per call; simple and reproducible).
  public mutating func normal() -> Double {
    let u1 = max(unit(), 0x1.0p-60)
    let u2 = unit()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }

  /// An integer in 0..<bound, without modulo bias.
  public mutating func index(below bound: Int) -> Int {
    Int(truncatingIfNeeded: next(upperBound: UInt64(bound)))
  }
}
