/// Evaluating a model as a 3-D field (any model with three inputs: a tri-plane field, an
/// MLP or KAN on coordinates): slices on axis-aligned planes and iso-surfaces.
extension Model {
  /// An axis-aligned box in 3-D.
  public struct Box: Equatable, Sendable {
    /// Lower corner.
    public var lower: SIMD3<Float>
    /// Upper corner.
    public var upper: SIMD3<Float>
    /// The box from `lower` to `upper`.
    public init(lower: SIMD3<Float>, upper: SIMD3<Float>) {
      self.lower = lower
      self.upper = upper
    }
    /// [-1, 1]^3.
    public static let unit = Box(lower: SIMD3(repeating: -1), upper: SIMD3(repeating: 1))

    /// A box from six numbers (xmin, ymin, zmin, xmax, ymax, zmax); throws unless every
    /// number is finite and each min is below its max.
    public init(_ six: [Float]) throws {
      guard six.count == 6 else {
        throw LaminaError.invalid("bounds need 6 numbers, not \(six.count)")
      }
      guard six.allSatisfy(\.isFinite) else { throw LaminaError.invalid("bounds must be finite") }
      let lo = SIMD3(six[0], six[1], six[2])
      let hi = SIMD3(six[3], six[4], six[5])
      guard all(lo .< hi) else {
        throw LaminaError.invalid("bounds: each minimum must be below its maximum (\(six))")
      }
      self.init(lower: lo, upper: hi)
    }
  }

  /// The box a field covers: its tri-plane encoding's bounds, or [-1, 1]^3 for other
  /// models.
  public var fieldBox: Box {
    guard let encoding = triplaneEncodings.first?.layer else { return .unit }
    let b = encoding.options.bounds
    return Box(
      lower: SIMD3(Float(b[0][0]), Float(b[1][0]), Float(b[2][0])),
      upper: SIMD3(Float(b[0][1]), Float(b[1][1]), Float(b[2][1])))
  }

  /// The largest slice or grid side accepted (samples per axis).
  public static let maxFieldResolution = 2048

  /// Throws unless the model maps 3-D points.
  func requireField(_ what: String) throws {
    guard inputDim == 3 else {
      throw LaminaError.shape(
        "\(what) needs a model with 3 inputs (x, y, z); this one has \(inputDim)")
    }
  }

  /// The field evaluated on a `resolution` x `resolution` grid on the plane where coordinate
  /// `axis` (0 = x, 1 = y, 2 = z) equals `offset`, spanning `box` in the other two axes
  /// (a, b with a < b): element `[i][j][k]` is output k at b = b_min + (b_max - b_min) i /
  /// (resolution - 1) and a = a_min + (a_max - a_min) j / (resolution - 1), so rows follow
  /// the second remaining axis (an image of the z = offset slice has x across, y up with
  /// matplotlib's `origin="lower"`). A resolution of 1 samples the box's centre.
  public func slice(axis: Int, offset: Float, resolution: Int, box: Box = .unit) throws -> [Float] {
    try requireField("slice")
    guard (0...2).contains(axis) else {
      throw LaminaError.invalid("slice: axis must be 0 (x), 1 (y) or 2 (z), not \(axis)")
    }
    guard offset.isFinite else { throw LaminaError.invalid("slice: offset must be finite") }
    guard resolution >= 1, resolution <= Model.maxFieldResolution else {
      throw LaminaError.invalid(
        "slice: resolution must be from 1 to \(Model.maxFieldResolution), not \(resolution)")
    }
    let others = [0, 1, 2].filter { $0 != axis }
    let (a, b) = (others[0], others[1])
    let r = resolution
    var points = [Float](repeating: 0, count: r * r * 3)
    func coordinate(_ d: Int, _ index: Int) -> Float {
      r == 1
        ? 0.5 * (box.lower[d] + box.upper[d])
        : box.lower[d] + (box.upper[d] - box.lower[d]) * Float(index) / Float(r - 1)
    }
    for i in 0..<r {
      for j in 0..<r {
        let p = 3 * (i * r + j)
        points[p + axis] = offset
        points[p + a] = coordinate(a, j)
        points[p + b] = coordinate(b, i)
      }
    }
    return try predict(points)
  }

  /// The field's output `channel` on an `nx` x `ny` x `nz` grid of samples spanning `box`
  /// (corners included), index `(i * ny + j) * nz + k` for x index i, y index j, z index k
  /// (numpy's C order of an [nx, ny, nz] array). Evaluated in chunks, so memory beyond the
  /// result stays bounded.
  public func sampleGrid(nx: Int, ny: Int, nz: Int, box: Box = .unit, channel: Int = 0) throws
    -> [Float]
  {
    try requireField("sampling a grid")
    for (name, n) in [("nx", nx), ("ny", ny), ("nz", nz)] {
      guard n >= 2, n <= Model.maxFieldResolution else {
        throw LaminaError.invalid(
          "grid: \(name) must be from 2 to \(Model.maxFieldResolution), not \(n)")
      }
    }
    guard channel >= 0, channel < outputDim else {
      throw LaminaError.invalid(
        "grid: channel \(channel) is out of range (the model has \(outputDim) outputs)")
    }
    let total = nx * ny * nz
    var values = [Float](repeating: 0, count: total)
    let step = (box.upper - box.lower) / SIMD3(Float(nx - 1), Float(ny - 1), Float(nz - 1))
    let chunk = 65536
    var points = [Float](repeating: 0, count: 3 * chunk)
    var out = [Float](repeating: 0, count: chunk * outputDim)
    var start = 0
    while start < total {
      let m = min(chunk, total - start)
      for s in 0..<m {
        let index = start + s
        let k = index % nz
        let j = (index / nz) % ny
        let i = index / (ny * nz)
        let p = box.lower + step * SIMD3(Float(i), Float(j), Float(k))
        points[3 * s] = p.x
        points[3 * s + 1] = p.y
        points[3 * s + 2] = p.z
      }
      try points.withUnsafeBufferPointer { pb in
        try out.withUnsafeMutableBufferPointer { ob in
          try predict(pb.baseAddress!, count: m, into: ob.baseAddress!)
        }
      }
      for s in 0..<m { values[start + s] = out[s * outputDim + channel] }
      start += m
    }
    return values
  }
}
