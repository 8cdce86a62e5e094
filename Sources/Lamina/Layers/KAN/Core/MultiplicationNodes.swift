/// pykan's multiplication nodes (MultKAN, KAN 2.0) as a layer without parameters: of the
/// `inputDim = sumCount + sum(arities)` features of a row (the subnodes), the first
/// `sumCount` pass through and multiplication node k multiplies the `arities[k]`
/// consecutive features after the ones before it. `outputDim = sumCount + arities.count`.
///
/// A "kan" spec's `"widths": [2, [5, 2], 1]` puts one of these after the KAN layer feeding
/// a level with multiplication nodes (see `ModelBuilder.buildKAN`); a sequential spec names
/// it `{"type": "multiply", "sum": 5, "mult": 2, "arity": 2}`. Products are taken left to
/// right in Float, as pykan's forward (`x[:, a] * x[:, a + 1] * ...`).
///
/// Every pass is one kernel (`run`): the product of jets, with the plain forward and
/// backward the jet of no directions. A product's gradient is taken through its chain of
/// partial products, never by division, so zeros are safe.
public final class MultiplicationNodes: Layer {
  /// Features that pass through (pykan's sum nodes), first in a row, in and out.
  public let sumCount: Int
  /// Factors of each multiplication node, in order; each at least 2.
  public let arities: [Int]
  /// Whether the spec listed the arities (else one "arity" for every node).
  let listed: Bool
  /// Input offset of each multiplication node's first factor.
  private let starts: [Int]
  /// The widest node's arity.
  private let widestArity: Int
  public let inputDim: Int
  public let outputDim: Int

  /// The smallest arity: a product of one factor is not a multiplication node.
  public static let minArity = 2

  /// A layer with `sum` pass-through features and one multiplication node per entry of
  /// `arities` (each >= 2; the builders check). `listed` only says how the spec writes them.
  public init(sum: Int, arities: [Int], listed: Bool = false) {
    precondition(arities.allSatisfy { $0 >= Self.minArity }, "arities must be at least 2")
    sumCount = sum
    self.arities = arities
    self.listed = listed
    var s: [Int] = []
    var at = sum
    for a in arities {
      s.append(at)
      at += a
    }
    starts = s
    inputDim = at
    outputDim = sum + arities.count
    widestArity = arities.max() ?? 0
  }

  public var parameters: [Parameter] { [] }

  /// The output each input feeds: itself for the pass-through features, its node's output
  /// for a factor (pykan's subnode-to-node map).
  public var inputOwners: [Int] {
    Array(0..<sumCount)
      + arities.enumerated().flatMap { k, a in Array(repeating: sumCount + k, count: a) }
  }

  /// `{"type": "multiply", "sum": S, "mult": M, "arity": A}`, "arity" a list when the spec
  /// gave one or the nodes differ.
  public var spec: JSONValue {
    let uniform = !listed && Set(arities).count <= 1
    let arity: JSONValue =
      uniform
      ? .number(Double(arities.first ?? 2)) : .array(arities.map { .number(Double($0)) })
    return .object([
      ("type", .string("multiply")), ("sum", .number(Double(sumCount))),
      ("mult", .number(Double(arities.count))), ("arity", arity),
    ])
  }

  public func copy() -> Layer {
    MultiplicationNodes(sum: sumCount, arities: arities, listed: listed)
  }

  /// The plain pass is the jet of no directions.
  private func plain(_ n: Int) -> JetShape { JetShape(rows: n, directions: 0, order: 1) }

  public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
    guard n > 0 else { return }
    run(x, y, dy: nil, dx: nil, shape: plain(n))
  }

  /// dx: dy for the pass-through features; for factor i of a node, dy times the product of
  /// the node's other factors. No parameters.
  public func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool
  ) {
    guard n > 0, let dx else { return }
    run(x, nil, dy: dy, dx: dx, shape: plain(n))
  }

  /// The forward pass (`dy` nil: writes `y`) or the adjoint pass (writes `dx` from `dy`) of
  /// jets of `shape` (stream-major, see `JetShape`). A node's jet is the chain
  /// P_1 = x_s, P_(i+1) = P_i * x_(s+i) of jet products; the adjoint runs the chain back
  /// from the partial products, which it recomputes per row into scratch.
  private func run(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>?,
    dx: UnsafeMutablePointer<Float>?, shape: JetShape
  ) {
    let (rows, streams, dirs) = (shape.rows, shape.streams, shape.directions)
    let second = shape.order == 2
    let (inW, outW) = (inputDim, outputDim)
    // Element (stream s, row r, feature f) of a jet of width w.
    @inline(__always) func at(_ s: Int, _ r: Int, _ f: Int, _ w: Int) -> Int {
      (s * rows + r) * w + f
    }
    let scratchCount = (max(widestArity, 1) + 2) * streams
    withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) { buffer in
      let prefix = buffer.baseAddress!  // P_1 ... P_(a-1), `streams` each
      let g = prefix + max(widestArity, 1) * streams  // adjoint of the current product
      let gl = g + streams  // adjoint of its left factor
      for r in 0..<rows {
        for s in 0..<streams {
          for f in 0..<sumCount {
            if let y { y[at(s, r, f, outW)] = x[at(s, r, f, inW)] }
            if let dx, let dy { dx[at(s, r, f, inW)] = dy[at(s, r, f, outW)] }
          }
        }
        for (k, arity) in arities.enumerated() {
          let start = starts[k]
          let out = sumCount + k
          // Forward: the partial products into `prefix` (the last one into `g`).
          for s in 0..<streams { prefix[s] = x[at(s, r, start, inW)] }
          for i in 1..<arity {
            let left = prefix + (i - 1) * streams
            let product = i == arity - 1 ? g : prefix + i * streams
            let f = start + i
            let (v, u) = (left[0], x[at(0, r, f, inW)])
            product[0] = v * u
            for d in 0..<dirs {
              let (j, ju) = (left[1 + d], x[at(1 + d, r, f, inW)])
              product[1 + d] = j * u + v * ju
              if second {
                let (h, hu) = (left[1 + dirs + d], x[at(1 + dirs + d, r, f, inW)])
                product[1 + dirs + d] = h * u + 2 * j * ju + v * hu
              }
            }
          }
          if let y {
            for s in 0..<streams { y[at(s, r, out, outW)] = g[s] }
            continue
          }
          guard let dx, let dy else { continue }
          // Adjoint: from the node's output back through the chain.
          for s in 0..<streams { g[s] = dy[at(s, r, out, outW)] }
          for i in stride(from: arity - 1, through: 1, by: -1) {
            let left = prefix + (i - 1) * streams
            let f = start + i
            let (v, u) = (left[0], x[at(0, r, f, inW)])
            var glv = g[0] * u
            var grv = g[0] * v
            for d in 0..<dirs {
              let (j, ju) = (left[1 + d], x[at(1 + d, r, f, inW)])
              let gj = g[1 + d]
              glv += gj * ju
              grv += gj * j
              var glj = gj * u
              var grj = gj * v
              if second {
                let (h, hu) = (left[1 + dirs + d], x[at(1 + dirs + d, r, f, inW)])
                let gh = g[1 + dirs + d]
                glv += gh * hu
                grv += gh * h
                glj += 2 * gh * ju
                grj += 2 * gh * j
                gl[1 + dirs + d] = gh * u
                dx[at(1 + dirs + d, r, f, inW)] = gh * v
              }
              gl[1 + d] = glj
              dx[at(1 + d, r, f, inW)] = grj
            }
            gl[0] = glv
            dx[at(0, r, f, inW)] = grv
            for s in 0..<streams { g[s] = gl[s] }
          }
          for s in 0..<streams { dx[at(s, r, start, inW)] = g[s] }
        }
      }
    }
  }
}

/// Derivative losses through multiplication nodes: the jet of a product is the product
/// rule applied factor by factor, its adjoint that chain run back.
extension MultiplicationNodes: JetLayer {
  public func jetForward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, shape: JetShape
  ) {
    guard shape.rows > 0 else { return }
    run(x, y, dy: nil, dx: nil, shape: shape)
  }

  public func jetBackward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, shape: JetShape, parameterGradients: Bool
  ) {
    guard shape.rows > 0, let dx else { return }
    run(x, nil, dy: dy, dx: dx, shape: shape)
  }
}

extension MultiplicationNodes: RowLocal {
  /// One product per input feature.
  var rowWork: Int { inputDim }
}
