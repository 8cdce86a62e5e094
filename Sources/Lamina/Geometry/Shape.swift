/// Analytic solids for tests and demos, given by signed distance functions (negative inside,
/// positive outside, zero on the surface) with analytic gradients (outward unit normals on the
/// surface).
///
/// The primitives' values are exact Euclidean distances. The CSG combinations use `min`
/// (union), `max` (intersection) and `max(a, -b)` (difference): their sign (inside/outside)
/// and zero set are exact, but their values are only bounds on the distance (never more than
/// it in magnitude outside a union, for instance), the usual convention of SDF modelling.
///
/// JSON form (every key except `type` has a default; unknown keys are refused):
///
///     {"type": "sphere",   "radius": 0.5, "center": [0, 0, 0]}
///     {"type": "box",      "half_extents": [0.5, 0.5, 0.5], "rounding": 0, "center": [0, 0, 0]}
///     {"type": "torus",    "major": 0.5, "minor": 0.2, "center": [0, 0, 0]}
///     {"type": "capsule",  "a": [0, -0.5, 0], "b": [0, 0.5, 0], "radius": 0.2}
///     {"type": "cylinder", "radius": 0.3, "half_height": 0.5, "capped": true,
///      "center": [0, 0, 0]}                  ("height" may replace "half_height")
///     {"type": "union" | "intersection" | "difference", "shapes": [shape, ...]}
///
/// The torus and the cylinder have their axis along y: the torus's ring lies in the xz plane.
/// A box's `rounding` rounds its edges and corners with that radius while keeping its outer
/// extents at `half_extents`. An uncapped cylinder is infinite along y. `difference` is the
/// first shape minus every later one.
public indirect enum Shape: Sendable, Equatable {
  /// A ball of `radius` about `center`.
  case sphere(center: SIMD3<Float>, radius: Float)
  /// An axis-aligned box with `halfExtents`, edges rounded with radius `rounding`.
  case box(center: SIMD3<Float>, halfExtents: SIMD3<Float>, rounding: Float)
  /// A torus about the y axis through `center`: ring radius `major`, tube radius `minor`.
  case torus(center: SIMD3<Float>, major: Float, minor: Float)
  /// The points within `radius` of the segment from `a` to `b`.
  case capsule(a: SIMD3<Float>, b: SIMD3<Float>, radius: Float)
  /// A cylinder along y; `halfHeight` is `.infinity` when uncapped.
  case cylinder(center: SIMD3<Float>, radius: Float, halfHeight: Float)
  /// Inside any of the shapes (`min` of their values).
  case union([Shape])
  /// Inside all of the shapes (`max` of their values).
  case intersection([Shape])
  /// Inside the first shape and outside all the others.
  case difference([Shape])
}

extension Shape {
  /// Default radius of a sphere.
  public static let defaultSphereRadius: Float = 0.5
  /// Default half extents of a box.
  public static let defaultHalfExtents = SIMD3<Float>(repeating: 0.5)
  /// Default ring and tube radii of a torus.
  public static let defaultTorus: (major: Float, minor: Float) = (0.5, 0.2)
  /// Default capsule: a vertical segment of length 1 through the origin, radius 0.2.
  public static let defaultCapsule: (a: SIMD3<Float>, b: SIMD3<Float>, radius: Float) = (
    SIMD3(0, -0.5, 0), SIMD3(0, 0.5, 0), 0.2
  )
  /// Default cylinder radius and half height.
  public static let defaultCylinder: (radius: Float, halfHeight: Float) = (0.3, 0.5)
  /// Largest absolute coordinate or length a spec may give (keeps arithmetic finite).
  public static let maxMagnitude = 1e6

  /// Parses a shape from JSON text (see the type's documentation for the keys).
  public init(json text: String) throws {
    try self.init(json: JSONValue.parse(text, what: "shape JSON"), what: "shape")
  }

  /// Parses a shape from a JSON value; `what` names it in error messages.
  public init(json: JSONValue, what: String = "shape") throws {
    let r = try JSONObjectReader(json, what: what)
    let type = try r.string("type")
    switch type {
    case "sphere":
      self = .sphere(
        center: try Shape.vector(r, "center", default: .zero),
        radius: try Shape.length(r, "radius", default: Shape.defaultSphereRadius))
    case "box":
      let h = try Shape.vector(r, "half_extents", default: Shape.defaultHalfExtents)
      guard h.min() > 0 else {
        throw LaminaError.invalid("\(what): \"half_extents\" must all be > 0")
      }
      let rounding = Float(
        try r.double("rounding", default: 0, min: 0, max: Double(h.min())))
      self = .box(
        center: try Shape.vector(r, "center", default: .zero), halfExtents: h, rounding: rounding)
    case "torus":
      let major = try Shape.length(r, "major", default: Shape.defaultTorus.major)
      let minor = Float(
        try r.double(
          "minor", default: Double(Shape.defaultTorus.minor), min: 0, max: Double(major),
          exclusiveMin: true))
      self = .torus(
        center: try Shape.vector(r, "center", default: .zero), major: major, minor: minor)
    case "capsule":
      self = .capsule(
        a: try Shape.vector(r, "a", default: Shape.defaultCapsule.a),
        b: try Shape.vector(r, "b", default: Shape.defaultCapsule.b),
        radius: try Shape.length(r, "radius", default: Shape.defaultCapsule.radius))
    case "cylinder":
      let radius = try Shape.length(r, "radius", default: Shape.defaultCylinder.radius)
      let capped = try r.bool("capped", default: true)
      let hasHeight = r.has("height")
      let hasHalf = r.has("half_height")
      if hasHeight && hasHalf {
        throw LaminaError.invalid("\(what): give \"height\" or \"half_height\", not both")
      }
      var half = Shape.defaultCylinder.halfHeight
      if hasHeight { half = 0.5 * (try Shape.length(r, "height", default: 1)) }
      if hasHalf { half = try Shape.length(r, "half_height", default: half) }
      if !capped && (hasHeight || hasHalf) {
        throw LaminaError.invalid("\(what): an uncapped cylinder is infinite; it takes no height")
      }
      self = .cylinder(
        center: try Shape.vector(r, "center", default: .zero), radius: radius,
        halfHeight: capped ? half : .infinity)
    case "union", "intersection", "difference":
      guard let list = r.value("shapes") else {
        throw LaminaError.invalid("\(what): missing required key \"shapes\"")
      }
      guard case .array(let items) = list, !items.isEmpty else {
        throw LaminaError.invalid("\(what): \"shapes\" must be a non-empty array of shapes")
      }
      var children: [Shape] = []
      for (i, item) in items.enumerated() {
        children.append(try Shape(json: item, what: "\(what).shapes[\(i)]"))
      }
      self =
        type == "union"
        ? .union(children)
        : type == "intersection" ? .intersection(children) : .difference(children)
    default:
      throw LaminaError.invalid(
        "\(what): unknown \"type\" \"\(type)\" (known: sphere, box, torus, capsule, cylinder, union, intersection, difference)"
      )
    }
    try r.finish()
  }

  /// A positive finite length.
  private static func length(_ r: JSONObjectReader, _ key: String, default def: Float) throws
    -> Float
  {
    Float(try r.double(key, default: Double(def), min: 0, max: maxMagnitude, exclusiveMin: true))
  }

  /// A 3-vector of finite numbers.
  private static func vector(_ r: JSONObjectReader, _ key: String, default def: SIMD3<Float>) throws
    -> SIMD3<Float>
  {
    guard let v = r.value(key) else { return def }
    guard case .array(let items) = v, items.count == 3 else {
      throw LaminaError.invalid("\(r.what): \"\(key)\" must be an array of 3 numbers")
    }
    var out = SIMD3<Float>.zero
    for (i, item) in items.enumerated() {
      guard case .number(let d) = item, d.isFinite, abs(d) <= maxMagnitude else {
        throw LaminaError.invalid(
          "\(r.what): \"\(key)\"[\(i)] must be a finite number of magnitude <= \(maxMagnitude)")
      }
      out[i] = Float(d)
    }
    return out
  }
}

extension Shape {
  /// The signed distance (or CSG bound) at `p`.
  public func distance(_ p: SIMD3<Float>) -> Float {
    switch self {
    case .sphere(let c, let r):
      return Shape.norm(p - c) - r
    case .box(let c, let h, let rounding):
      let q = Shape.absolute(p - c) - (h - rounding)
      let outside = Shape.norm(pointwiseMax(q, .zero))
      return outside + min(q.max(), 0) - rounding
    case .torus(let c, let major, let minor):
      let d = p - c
      let q = SIMD2(Shape.norm(SIMD2(d.x, d.z)) - major, d.y)
      return (q * q).sum().squareRoot() - minor
    case .capsule(let a, let b, let r):
      return Shape.norm(Shape.capsuleOffset(p, a, b)) - r
    case .cylinder(let c, let r, let hh):
      let d = p - c
      let radial = Shape.norm(SIMD2(d.x, d.z)) - r
      if !hh.isFinite { return radial }
      let q = SIMD2(radial, abs(d.y) - hh)
      let m = pointwiseMax(q, .zero)
      return min(q.max(), 0) + (m * m).sum().squareRoot()
    case .union(let shapes):
      return shapes.dropFirst().reduce(shapes[0].distance(p)) { min($0, $1.distance(p)) }
    case .intersection(let shapes):
      return shapes.dropFirst().reduce(shapes[0].distance(p)) { max($0, $1.distance(p)) }
    case .difference(let shapes):
      return shapes.dropFirst().reduce(shapes[0].distance(p)) { max($0, -$1.distance(p)) }
    }
  }

  /// The value and gradient at `p`. The gradient is a unit vector wherever the function is
  /// differentiable; at its kinks (a sphere's centre, a box's medial planes, CSG seams) it is
  /// the gradient of one of the pieces meeting there (chosen deterministically), and at
  /// points with no defined direction at all (a sphere's centre) it is zero.
  public func distanceAndGradient(_ p: SIMD3<Float>) -> (Float, SIMD3<Float>) {
    switch self {
    case .sphere(let c, let r):
      let d = p - c
      let n = Shape.norm(d)
      return (n - r, n > 0 ? d / n : .zero)
    case .box(let c, let h, let rounding):
      let d = p - c
      let s = SIMD3<Float>(d.x < 0 ? -1 : 1, d.y < 0 ? -1 : 1, d.z < 0 ? -1 : 1)
      let q = Shape.absolute(d) - (h - rounding)
      let m = pointwiseMax(q, .zero)
      let outside = Shape.norm(m)
      if outside > 0 { return (outside - rounding, s * m / outside) }
      // Inside the core box: the nearest face is the one with the largest q.
      let axis = q.x >= q.y && q.x >= q.z ? 0 : (q.y >= q.z ? 1 : 2)
      var g = SIMD3<Float>.zero
      g[axis] = s[axis]
      return (q[axis] - rounding, g)
    case .torus(let c, let major, let minor):
      let d = p - c
      let rho = Shape.norm(SIMD2(d.x, d.z))
      let q = SIMD2(rho - major, d.y)
      let len = (q * q).sum().squareRoot()
      guard len > 0 else { return (-minor, .zero) }
      let radial = rho > 0 ? SIMD2(d.x, d.z) / rho : SIMD2(1, 0)
      return (len - minor, SIMD3(q.x * radial.x, q.y, q.x * radial.y) / len)
    case .capsule(let a, let b, let r):
      let o = Shape.capsuleOffset(p, a, b)
      let n = Shape.norm(o)
      return (n - r, n > 0 ? o / n : .zero)
    case .cylinder(let c, let r, let hh):
      let d = p - c
      let rho = Shape.norm(SIMD2(d.x, d.z))
      let radial = rho > 0 ? SIMD2(d.x, d.z) / rho : SIMD2(1, 0)
      let radialGradient = SIMD3(radial.x, 0, radial.y)
      if !hh.isFinite { return (rho - r, radialGradient) }
      let sy: Float = d.y < 0 ? -1 : 1
      let q = SIMD2(rho - r, abs(d.y) - hh)
      let m = pointwiseMax(q, .zero)
      let outside = (m * m).sum().squareRoot()
      if outside > 0 {
        return (outside, (m.x * radialGradient + SIMD3(0, m.y * sy, 0)) / outside)
      }
      return q.x >= q.y ? (q.x, radialGradient) : (q.y, SIMD3(0, sy, 0))
    case .union(let shapes):
      var best = shapes[0].distanceAndGradient(p)
      for s in shapes.dropFirst() {
        let v = s.distanceAndGradient(p)
        if v.0 < best.0 { best = v }
      }
      return best
    case .intersection(let shapes):
      var best = shapes[0].distanceAndGradient(p)
      for s in shapes.dropFirst() {
        let v = s.distanceAndGradient(p)
        if v.0 > best.0 { best = v }
      }
      return best
    case .difference(let shapes):
      var best = shapes[0].distanceAndGradient(p)
      for s in shapes.dropFirst() {
        let v = s.distanceAndGradient(p)
        if -v.0 > best.0 { best = (-v.0, -v.1) }
      }
      return best
    }
  }

  /// Writes the value at each of `n` points (x, y, z rows of `points`) to `values`.
  /// Large batches run on several threads; each value is computed the same way regardless.
  public func sdf(
    _ points: UnsafePointer<Float>, _ n: Int, into values: UnsafeMutablePointer<Float>
  ) {
    Shape.forChunks(n) { lo, hi in
      for i in lo..<hi {
        values[i] = distance(SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2]))
      }
    }
  }

  /// Writes the gradient at each of `n` points to `gradients` (3 floats per point), and the
  /// value to `values` when it is not nil.
  public func gradient(
    _ points: UnsafePointer<Float>, _ n: Int, into gradients: UnsafeMutablePointer<Float>,
    values: UnsafeMutablePointer<Float>? = nil
  ) {
    Shape.forChunks(n) { lo, hi in
      for i in lo..<hi {
        let (v, g) = distanceAndGradient(SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2]))
        gradients[3 * i] = g.x
        gradients[3 * i + 1] = g.y
        gradients[3 * i + 2] = g.z
        values?[i] = v
      }
    }
  }

  /// Componentwise absolute value.
  @inline(__always)
  static func absolute(_ v: SIMD3<Float>) -> SIMD3<Float> { SIMD3(abs(v.x), abs(v.y), abs(v.z)) }

  /// Euclidean length.
  @inline(__always)
  static func norm(_ v: SIMD3<Float>) -> Float { (v * v).sum().squareRoot() }
  /// Euclidean length.
  @inline(__always)
  static func norm(_ v: SIMD2<Float>) -> Float { (v * v).sum().squareRoot() }

  /// `p` minus its nearest point on the segment `ab`.
  @inline(__always)
  static func capsuleOffset(_ p: SIMD3<Float>, _ a: SIMD3<Float>, _ b: SIMD3<Float>) -> SIMD3<Float>
  {
    let ab = b - a
    let len2 = (ab * ab).sum()
    let t = len2 > 0 ? min(max(((p - a) * ab).sum() / len2, 0), 1) : 0
    return p - a - t * ab
  }

  /// Runs `body` over `[0, n)` in fixed chunks, in parallel when `n` is large. Each index is
  /// handled by exactly one call, so results never depend on the thread count.
  static func forChunks(_ n: Int, _ body: (Int, Int) -> Void) {
    let chunk = 16384
    guard n > chunk else {
      if n > 0 { body(0, n) }
      return
    }
    let chunks = (n + chunk - 1) / chunk
    Parallel.forEach(chunks) { c in
      body(c * chunk, min(n, (c + 1) * chunk))
    }
  }
}
