/// The settings of a tri-plane encoding, as the spec keys name them. One parser serves the
/// `"triplane"` model kind and the `{"type": "triplane"}` layer of a sequential model.
///
/// Spec keys and defaults (the full spec returned by a model lists every one):
///
/// | key | default | meaning |
/// | --- | --- | --- |
/// | `resolution` | 128 | texels per plane side; an integer, or a list of integers for a multi-resolution encoding (one set of planes per entry). 2 ... 4096. |
/// | `channels` | 16 | features per texel, C |
/// | `aggregation` | `"sum"` | how the three planes' features combine: `"sum"`, `"product"`, `"mean"` or `"concat"` (3C features) |
/// | `multires` | `"concat"` | how the levels of a multi-resolution encoding combine: `"concat"` (as K-Planes) or `"sum"`; ignored (but kept) for one level |
/// | `bounds` | `[[-1, 1], [-1, 1], [-1, 1]]` | the axis-aligned box the planes cover; also accepted as one pair `[lo, hi]` for every axis |
/// | `align_corners` | `true` | PyTorch `grid_sample`'s convention: true puts the first and last texel centres on the box's faces, false puts the texels' outer edges there |
/// | `padding` | `"zeros"` | outside the texel grid: `"zeros"` (out-of-range texels read as 0, so features fade to zero within a texel outside the box) or `"border"` (coordinates clamp to the box, so outside points take the feature of the nearest face point) |
/// | `fourier` | 0 | number of Fourier frequencies L appended to the features (0 = off) |
/// | `fourier_include_input` | `true` | whether the encoding also appends the point itself (box-normalised, in [-1, 1]) when `fourier` > 0 |
/// | `init` | `"normal"` | texel initialisation: `"normal"` N(init_mean, init_std^2) or `"uniform"` U(init_mean - init_std, init_mean + init_std) |
/// | `init_mean` | 0 (1 for `"product"`) | centre of the initial texels; a product of three planes needs them away from zero, so it starts around 1 as K-Planes does |
/// | `init_std` | 0.001 | spread of the initial texels: the tri-plane processing paper's 1e-3 (planes start near-constant and the decoder's first steps shape them) |
/// | `fields` | 1 | number of independent fields fitted at once; each has its own planes, the decoder is shared (or, with the `"triplane"` kind's `decoder_per_field`, one per field); with more than one, each input row starts with the field index |
///
/// Why `align_corners` defaults to true: the box's faces then lie on texel centres, so with
/// zeros padding nothing inside the box fades toward zero (with false, the outer half texel
/// inside every face blends with the zero padding), and upsampling R -> 2R - 1 keeps the
/// field exactly, which coarse-to-fine training needs. K-Planes, nerfstudio and BlockFusion
/// use it; the tri-plane processing code and EG3D use false, which stays available.
///
/// The Fourier encoding of a point p (normalised to q in [-1, 1]^3 by the box, not clamped) is
/// `[q (if fourier_include_input), sin(2^0 pi q), cos(2^0 pi q), ..., sin(2^(L-1) pi q),
/// cos(2^(L-1) pi q)]`, each entry three values (x, y, z), as NeRF's positional encoding
/// (there the frequencies lack the factor pi; here one period of the lowest frequency spans
/// the box). L = 10 with the input gives the 63 values of the tri-plane processing paper.
public struct TriplaneOptions: Equatable, Sendable {
  /// How the three planes' features combine into one feature vector.
  public enum Aggregation: String, CaseIterable, Sendable {
    /// f_xy + f_xz + f_yz (tri-plane processing, BlockFusion, NFD).
    case sum
    /// f_xy * f_xz * f_yz elementwise (K-Planes).
    case product
    /// (f_xy + f_xz + f_yz) / 3 (EG3D).
    case mean
    /// [f_xy, f_xz, f_yz]: 3C features.
    case concat
  }

  /// How the levels of a multi-resolution encoding combine.
  public enum LevelCombination: String, CaseIterable, Sendable {
    /// Each level's features in turn (K-Planes' `concat_features_across_scales`).
    case concat
    /// The levels' features added.
    case sum
  }

  /// What the sampler reads outside the texel grid.
  public enum Padding: String, CaseIterable, Sendable {
    /// Out-of-range texels are 0 (PyTorch's default `padding_mode="zeros"`).
    case zeros
    /// Coordinates clamp to the grid (`padding_mode="border"`).
    case border
  }

  /// How the texels are drawn.
  public enum Initialization: String, CaseIterable, Sendable {
    /// N(init_mean, init_std^2).
    case normal
    /// U(init_mean - init_std, init_mean + init_std).
    case uniform
  }

  /// The largest resolution per plane side.
  public static let maxResolution = 4096
  /// The largest number of Fourier frequencies (2^23 pi is past where Float sin means much).
  public static let maxFourier = 24
  /// The most resolution levels.
  public static let maxLevels = 16
  /// The most fields (their indices must be exact in a Float).
  public static let maxFields = 16_777_216

  /// Texels per side, one entry per level.
  public var resolutions: [Int] = [128]
  /// Whether `resolution` was written as a list (kept so the full spec reads as written).
  public var resolutionIsList = false
  /// Features per texel.
  public var channels = 16
  /// How the planes combine.
  public var aggregation = Aggregation.sum
  /// How the levels combine.
  public var multires = LevelCombination.concat
  /// [lo, hi] per axis (x, y, z).
  public var bounds: [[Double]] = [[-1, 1], [-1, 1], [-1, 1]]
  /// PyTorch `grid_sample`'s `align_corners`.
  public var alignCorners = true
  /// What is read outside the grid.
  public var padding = Padding.zeros
  /// Fourier frequencies appended (0 = none).
  public var fourier = 0
  /// Whether the normalised point is appended with the Fourier features.
  public var fourierIncludeInput = true
  /// How texels are drawn.
  public var initialization = Initialization.normal
  /// Centre of the initial texels (nil: 1 for product, 0 otherwise).
  public var initMean: Double? = nil
  /// Spread of the initial texels.
  public var initStd = 1e-3
  /// Independent fields sharing the decoder.
  public var fields = 1

  /// The defaults listed above.
  public init() {}

  /// The initial texel centre in effect.
  public var resolvedInitMean: Double { initMean ?? (aggregation == .product ? 1 : 0) }

  /// Columns of an input row: x, y, z, preceded by the field index when `fields` > 1.
  public var inputDim: Int { fields > 1 ? 4 : 3 }

  /// Features one level gives: C, or 3C for concat.
  public var featuresPerLevel: Int { aggregation == .concat ? 3 * channels : channels }

  /// Features from the planes (all levels).
  public var planeFeatures: Int {
    multires == .concat ? featuresPerLevel * resolutions.count : featuresPerLevel
  }

  /// Features from the Fourier encoding.
  public var fourierFeatures: Int {
    fourier == 0 ? 0 : (fourierIncludeInput ? 3 : 0) + 6 * fourier
  }

  /// Features per output row.
  public var outputDim: Int { planeFeatures + fourierFeatures }

  /// Scalars in the planes of level `l`: fields x 3 x C x R x R (valid after `validate`).
  func planeCount(level l: Int) -> Int {
    fields * 3 * channels * resolutions[l] * resolutions[l]
  }

  /// The trainable scalars as factor pairs for `ModelBuilder.checkParameterBudget`
  /// (overflow-checked there): per level, (fields * 3 * C) x (R * R).
  var parameterBudget: [(Int, Int)] {
    resolutions.map { (fields * 3 * channels, $0 * $0) }
  }

  /// The keys this encoding understands, in spec order.
  static let keys = [
    "resolution", "channels", "aggregation", "multires", "bounds", "align_corners", "padding",
    "fourier", "fourier_include_input", "init", "init_mean", "init_std", "fields",
  ]

  /// Reads the encoding's keys from `r` (other keys are the caller's), with defaults,
  /// throwing `.invalidArgument` naming a bad key. Sizes are checked by `validate`.
  static func parse(_ r: JSONObjectReader) throws -> TriplaneOptions {
    var o = TriplaneOptions()
    let what = r.what
    if let v = r.value("resolution") {
      if case .array(let items) = v {
        guard !items.isEmpty, items.count <= maxLevels else {
          throw LaminaError.invalid(
            "\(what): \"resolution\" lists \(items.count) levels; it must list 1 to \(maxLevels)")
        }
        o.resolutions = try items.enumerated().map {
          try JSONObjectReader.integer(
            $0.element, "\(what): resolution[\($0.offset)]", min: 2, max: maxResolution)
        }
        o.resolutionIsList = true
      } else {
        o.resolutions = [
          try JSONObjectReader.integer(v, "\(what): \"resolution\"", min: 2, max: maxResolution)
        ]
      }
    }
    o.channels = try r.int("channels", default: 16, min: 1, max: Limits.maxWidth)
    o.aggregation = try choice(r, "aggregation", default: .sum)
    o.multires = try choice(r, "multires", default: .concat)
    if let v = r.value("bounds") { o.bounds = try parseBounds(v, what: what) }
    o.alignCorners = try r.bool("align_corners", default: true)
    o.padding = try choice(r, "padding", default: .zeros)
    o.fourier = try r.int("fourier", default: 0, min: 0, max: maxFourier)
    o.fourierIncludeInput = try r.bool("fourier_include_input", default: true)
    o.initialization = try choice(r, "init", default: .normal)
    if r.value("init_mean") != nil {
      o.initMean = try r.double("init_mean", min: -1e6, max: 1e6)
    }
    o.initStd = try r.double("init_std", default: 1e-3, min: 0, max: 1e6)
    o.fields = try r.int("fields", default: 1, min: 1, max: maxFields)
    try o.validate(what: what)
    return o
  }

  /// One of an enum's raw values, naming the known ones on error.
  private static func choice<T: RawRepresentable & CaseIterable>(
    _ r: JSONObjectReader, _ key: String, default def: T
  ) throws -> T where T.RawValue == String {
    let s = try r.string(key, default: def.rawValue)
    guard let v = T(rawValue: s) else {
      let known = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
      throw LaminaError.invalid("\(r.what): unknown \(key) \"\(s)\" (known: \(known))")
    }
    return v
  }

  /// `[lo, hi]` (every axis) or `[[xlo, xhi], [ylo, yhi], [zlo, zhi]]`, each lo < hi, finite.
  private static func parseBounds(_ v: JSONValue, what: String) throws -> [[Double]] {
    func pair(_ v: JSONValue, _ label: String) throws -> [Double] {
      guard case .array(let items) = v, items.count == 2, case .number(let lo) = items[0],
        case .number(let hi) = items[1]
      else {
        throw LaminaError.invalid("\(what): \(label) must be a pair of numbers [lo, hi]")
      }
      guard lo.isFinite, hi.isFinite, lo < hi, abs(lo) <= 1e30, abs(hi) <= 1e30,
        Float(hi) - Float(lo) > 0, (Float(hi) - Float(lo)).isFinite
      else {
        throw LaminaError.invalid(
          "\(what): \(label) is [\(lo), \(hi)]; it must be finite with lo < hi")
      }
      return [lo, hi]
    }
    guard case .array(let items) = v else {
      throw LaminaError.invalid(
        "\(what): \"bounds\" must be [lo, hi] or [[xlo, xhi], [ylo, yhi], [zlo, zhi]], not \(v.typeName)"
      )
    }
    if items.count == 3, case .array = items[0] {
      return try items.enumerated().map { try pair($0.element, "bounds[\($0.offset)]") }
    }
    let p = try pair(v, "\"bounds\"")
    return [p, p, p]
  }

  /// Throws unless the sizes are usable: the feature width within `Limits.maxWidth` and
  /// (through `parameterBudget`, checked by the builder) the planes within the budget.
  func validate(what: String) throws {
    guard !resolutions.isEmpty, resolutions.count <= TriplaneOptions.maxLevels,
      resolutions.allSatisfy({ (2...TriplaneOptions.maxResolution).contains($0) })
    else {
      throw LaminaError.invalid(
        "\(what): \"resolution\" must be 1 to \(TriplaneOptions.maxLevels) integers in 2...\(TriplaneOptions.maxResolution)"
      )
    }
    guard channels >= 1, channels <= Limits.maxWidth else {
      throw LaminaError.invalid("\(what): \"channels\" must be between 1 and \(Limits.maxWidth)")
    }
    let (perLevel, o1) = channels.multipliedReportingOverflow(by: aggregation == .concat ? 3 : 1)
    let (planeWidth, o2) = perLevel.multipliedReportingOverflow(
      by: multires == .concat ? resolutions.count : 1)
    guard !o1, !o2, planeWidth + fourierFeatures <= Limits.maxWidth else {
      throw LaminaError.invalid(
        "\(what): the encoding would give more than \(Limits.maxWidth) features per point "
          + "(\"channels\", \"aggregation\", \"resolution\" levels and \"fourier\" together)")
    }
    guard bounds.count == 3,
      bounds.allSatisfy({
        $0.count == 2 && $0[0] < $0[1] && abs($0[0]) <= 1e30 && abs($0[1]) <= 1e30
          && Float($0[1]) - Float($0[0]) > 0
      })
    else {
      throw LaminaError.invalid(
        "\(what): \"bounds\" must give finite lo < hi (distinct as 32-bit floats) for x, y and z")
    }
    guard (1...TriplaneOptions.maxFields).contains(fields) else {
      throw LaminaError.invalid(
        "\(what): \"fields\" must be between 1 and \(TriplaneOptions.maxFields)")
    }
    guard initStd.isFinite, initStd >= 0, resolvedInitMean.isFinite else {
      throw LaminaError.invalid("\(what): \"init_std\" and \"init_mean\" must be finite, std >= 0")
    }
  }

  /// The keys with their values, every default filled in, in `keys` order.
  var specPairs: [(String, JSONValue)] {
    let res: JSONValue =
      resolutionIsList || resolutions.count > 1
      ? .array(resolutions.map { .number(Double($0)) }) : .number(Double(resolutions[0]))
    return [
      ("resolution", res), ("channels", .number(Double(channels))),
      ("aggregation", .string(aggregation.rawValue)), ("multires", .string(multires.rawValue)),
      ("bounds", .array(bounds.map { .array($0.map { .number($0) }) })),
      ("align_corners", .bool(alignCorners)), ("padding", .string(padding.rawValue)),
      ("fourier", .number(Double(fourier))),
      ("fourier_include_input", .bool(fourierIncludeInput)),
      ("init", .string(initialization.rawValue)), ("init_mean", .number(resolvedInitMean)),
      ("init_std", .number(initStd)), ("fields", .number(Double(fields))),
    ]
  }
}
