// The contract every KAN basis implements: `KANBasisOptions` for its spec keys and
// `KANBasisLayer` for its layer. Each basis lives in its own folder, and its main file
// (XKANLayer.swift) keeps its sections in this order, each under a `MARK`:
//
//   1. Options: `XKANLayer.Options` with its keys and defaults, `parse`, `validate`,
//      `parameterBudget`, `specPairs`, `makeLayer` (and `mixtureRestriction` if any)
//   2. Construction: `init(input:output:options:rng:)`, other initialisers, the copy
//   3. Layer: `parameters`, `spec`, `copy()`
//   4. Forward, with the kernels forward and backward share
//   5. Backward
//   6. Edge layout and edge curves: `edgeLayouts()`, `KANEdgeFunctions`
//
// Adding a basis: its folder, one line in `KANBasis.all`, and a row in the README's and
// lamina.h's KAN basis tables.

/// What the model builder needs to know about one KAN basis family (B-splines, Chebyshev,
/// ...: `KANBasis.all` lists them): its name, the spec keys only it understands, the rules that
/// depend on a layer's widths, its size, and how to make a layer. Each basis keeps these
/// next to its layer class (`BSplineKANLayer.Options`, `RBFKANLayer.Options`, ...), so
/// the "kan" model kind and the sequential "kan" layer type share one parser per basis.
///
/// Building is in three steps so that nothing is allocated before the whole spec is known to
/// be good: `parse` reads the keys (widths unknown), `validate` and `parameterBudget` are
/// asked for every layer, and only then does `makeLayer` allocate.
protocol KANBasisOptions: Sendable {
  /// The value of the spec key "basis" (or of "name" in a per-layer entry) that selects
  /// this family.
  static var basisName: String { get }

  /// Reads this basis's own keys from `reader` (every other key of the object is read by
  /// the caller), filling in defaults and throwing `.invalidArgument` naming any bad key.
  /// Rules that need the layer's widths are left to `validate`.
  static func parse(_ reader: JSONObjectReader) throws -> Self

  /// This basis's keys with their values, every default filled in, in spec order. Defaults
  /// that depend on the input width stay as written (rational "groups" 0 = per layer), so
  /// one set of pairs can describe every layer of a "kan" model.
  var specPairs: [(String, JSONValue)] { get }

  /// These options with every input-dependent default made explicit for a layer of
  /// `input` features: what that layer's own spec records. Building from either gives the
  /// same layer.
  func resolved(input: Int) -> Self

  /// Throws (`.invalidArgument` naming the key, `.outOfMemory` for sizes) unless a layer of
  /// this basis can map `input` to `output` features; `what` names the layer in messages.
  func validate(input: Int, output: Int, what: String) throws

  /// The trainable scalars of one `input` x `output` layer as factor pairs whose products
  /// sum to the count, so the builder can check the model's budget (overflow-safe) before
  /// allocating. Only called after `validate` passed.
  func parameterBudget(input: Int, output: Int) -> [(Int, Int)]

  /// A layer of this basis with its initial values drawn from `rng`. Only called after
  /// `validate` passed; throws only if the options were changed since.
  func makeLayer(input: Int, output: Int, rng: inout RandomSource) throws -> Layer

  /// Why these options cannot be a component of a mixed layer (the message after the
  /// entry's name, e.g. a key that must be false there), or nil when they can.
  var mixtureRestriction: String? { get }
}

extension KANBasisOptions {
  /// Most bases have no input-dependent defaults.
  func resolved(input: Int) -> Self { self }

  /// Most bases can be mixed with any settings.
  var mixtureRestriction: String? { nil }

  /// `{"type": "kan", "output": O, "basis": name, <keys resolved for input>}`: the spec of a
  /// layer built from these options, as the layer classes write it.
  func layerSpec(input: Int, output: Int) -> JSONValue {
    .object(
      [
        ("type", .string("kan")), ("output", .number(Double(output))),
        ("basis", .string(Self.basisName)),
      ] + resolved(input: input).specPairs)
  }
}

/// How one tensor of a KAN layer is laid out over the layer's edges, so that a mixed layer
/// can scale it per edge and `KANSeparableEdges` can isolate one edge.
enum KANEdgeLayout: Equatable {
  /// Entry ((r * A + a) * B + b) * inner + m belongs to edge (i, j) = (a, b), or (b, a)
  /// when `outputMajor` ([repeats, out, in, inner] instead of [repeats, in, out, inner]).
  case edges(repeats: Int, outputMajor: Bool, inner: Int)
  /// A per-output bias [out], shared equally by the output's edges.
  case outputs
}

/// The layer side of a KAN basis: built one way from its options, and able to say how its
/// tensors sit on its edges. Callers (mixed layers, separable edge curves, the model's
/// edge tools) ask these requirements instead of testing for concrete layer classes.
protocol KANBasisLayer: Layer {
  /// The basis's spec keys (`XKANLayer.Options`).
  associatedtype Options: KANBasisOptions

  /// An `input` -> `output` layer with `options`, its initial values drawn from `rng`.
  /// Throws `.invalidArgument` (or `.outOfMemory`) for what `Options.validate` refuses.
  init(input: Int, output: Int, options: Options, rng: inout RandomSource) throws

  /// Per entry of `parameters`: its layout over the edges, or nil for a tensor that does not
  /// scale with edges. Throws when the layer is not a sum of per-edge functions (it then
  /// cannot join a mixed layer and has no separable edge curves).
  func edgeLayouts() throws -> [KANEdgeLayout?]

  /// Why the layer has no per-edge functions although its basis usually does (completing
  /// "layer L is ..." in `Model.kanEdgeLayer`'s `.unsupported` message), or nil.
  var edgeCurveRefusal: String? { get }
}

extension KANBasisLayer {
  /// A basis whose layers are not sums of per-edge functions.
  func edgeLayouts() throws -> [KANEdgeLayout?] {
    throw LaminaError(
      .unsupported, "kan layer: basis \"\(Options.basisName)\" has no per-edge tensor layout")
  }

  /// Most layers that have edge functions have them whatever their settings.
  var edgeCurveRefusal: String? { nil }

  /// `edgeLayouts` from the tensors that scale with edges: every other entry of
  /// `parameters` is nil (a nil tensor, such as an absent bias, is skipped).
  func edgeLayouts(_ pairs: [(Parameter?, KANEdgeLayout)]) -> [KANEdgeLayout?] {
    parameters.map { p in pairs.first { $0.0 === p }?.1 }
  }
}
