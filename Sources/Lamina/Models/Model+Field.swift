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
    try checkBatch(r * r)  // before taking memory for the points and r * r outputs
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

  /// The iso-surface where output `channel` equals `level`, by marching cubes on a grid of
  /// `resolution` samples per axis spanning `box` (corners included), evaluated in chunks.
  /// Triangles are counter-clockwise seen from where the output is above `level` (outside,
  /// for a signed distance), and each vertex's normal is the normalised gradient of the
  /// output there (exact, by back-propagation), pointing toward increasing values.
  public func extractMesh(
    resolution: Int, level: Float = 0, box: Box? = nil, channel: Int = 0
  ) throws -> TriangleMesh {
    try requireField("extracting a mesh")
    guard channel >= 0, channel < outputDim else {
      throw LaminaError.invalid(
        "extracting a mesh: channel \(channel) is out of range (\(outputDim) outputs)")
    }
    let box = box ?? fieldBox
    let k = outputDim
    // The marching-cubes chunks hold many points; evaluating them `rows` at a time keeps
    // the k outputs (and 3k gradients) per point within the usual ~1 MB scratch, whatever
    // the model's output width.
    let rows = chunkRows
    var out = [Float]()
    var jacobian = [Float]()
    return try MarchingCubes.extract(
      resolution: (resolution, resolution, resolution), lower: box.lower, upper: box.upper,
      level: level,
      evaluate: { points, count, values in
        var start = 0
        while start < count {
          let m = min(rows, count - start)
          if out.count < m * k { out = [Float](repeating: 0, count: m * k) }
          try out.withUnsafeMutableBufferPointer {
            try self.predict(points + 3 * start, count: m, into: $0.baseAddress!)
          }
          for r in 0..<m { values[start + r] = out[r * k + channel] }
          start += m
        }
      },
      gradient: { points, count, gradients in
        var start = 0
        while start < count {
          let m = min(rows, count - start)
          if jacobian.count < m * k * 3 { jacobian = [Float](repeating: 0, count: m * k * 3) }
          try jacobian.withUnsafeMutableBufferPointer {
            try self.inputGradient(points + 3 * start, count: m, into: $0.baseAddress!)
          }
          for r in 0..<m {
            for d in 0..<3 { gradients[3 * (start + r) + d] = jacobian[(r * k + channel) * 3 + d] }
          }
          start += m
        }
      })
  }
}
