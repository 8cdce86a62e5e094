#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Memory in which a layer keeps what its training forward pass computed from the input x
/// (a B-spline KAN's basis rows, say), so that the backward pass of the same step reads it
/// instead of recomputing it from x.
///
/// The `Layer` protocol stays stateless: the cache belongs to the model's training
/// `Workspace` (one per layer), never to the layer, so concurrent `predict` calls are not
/// affected and a layer used on its own recomputes as before. A cache is only ever read
/// when it provably describes the call: the workspace stamps it with the generation of the
/// forward pass that filled it (every forward pass on the workspace, training or not, gets
/// a new generation, and the model hands the cache to `backward` only while the stamp is
/// current), and the layer checks its identity, the input pointer, the row count and a
/// copy of the input values and of whatever else the cached work depends on (the knots)
/// before trusting it. When any check fails the layer recomputes, with the same results.
final class ForwardCache {
  /// Generation of the forward pass that filled the cache (see `Workspace.generation`).
  var generation: UInt64 = 0
  /// The layer that filled it (nil: empty).
  private(set) var owner: ObjectIdentifier?
  /// The input pointer and row count it was filled from.
  private(set) var input: UnsafePointer<Float>?
  private(set) var rows = 0
  /// The layer's layout tag (any value the layer uses to describe how it laid the memory out).
  private(set) var layout = 0

  /// The owned memory and its size in bytes.
  private(set) var memory: UnsafeMutableRawPointer
  private(set) var byteCount = 0

  /// An empty cache.
  init() {
    memory = .allocate(byteCount: ScratchPool.alignment, alignment: ScratchPool.alignment)
  }

  deinit { memory.deallocate() }

  /// Largest cache a layer may keep (bytes, 64 MB by default: a [64, 64, 10] B-spline KAN
  /// at G = 5 and batch 1024 needs about 7 MB per layer); bigger passes recompute instead,
  /// so training memory never grows past this per layer for the sake of speed.
  var byteLimit = 64 << 20

  /// Whether a layer sealed the cache (and nothing cleared it since).
  var isFilled: Bool { owner != nil }

  /// Marks the cache empty (nothing in it may be read).
  func clear() {
    owner = nil
    input = nil
    rows = 0
    layout = 0
  }

  /// Empties the cache and returns `bytes` bytes (64-byte aligned, contents undefined) for
  /// `layer` to fill from `n` rows at `x`, or nil when `bytes` exceeds `byteLimit`. The
  /// caller calls `seal` once the contents are complete.
  func begin(
    _ layer: AnyObject, input x: UnsafePointer<Float>, rows n: Int, layout: Int, bytes: Int
  ) -> UnsafeMutableRawPointer? {
    clear()
    guard bytes <= byteLimit else { return nil }
    if bytes > byteCount {
      memory.deallocate()
      memory = .allocate(byteCount: max(bytes, 1), alignment: ScratchPool.alignment)
      byteCount = bytes
    }
    pending = (ObjectIdentifier(layer), x, n, layout)
    return memory
  }

  /// What `begin` was called with, made current by `seal`.
  private var pending: (ObjectIdentifier, UnsafePointer<Float>, Int, Int)?

  /// Declares the memory handed out by the last `begin` complete and readable.
  func seal() {
    guard let p = pending else { return }
    (owner, input, rows, layout) = (p.0, p.1, p.2, p.3)
    pending = nil
  }

  /// The cache's memory when it was sealed by `layer` for `n` rows at `x` with `layout`;
  /// nil otherwise. The layer must still compare the contents it depends on.
  func contents(
    for layer: AnyObject, input x: UnsafePointer<Float>, rows n: Int, layout: Int
  ) -> UnsafeMutableRawPointer? {
    guard owner == ObjectIdentifier(layer), input == x, rows == n, self.layout == layout else {
      return nil
    }
    return memory
  }

  /// Whether `count` floats at `a` and `b` have the same bits (so a NaN matches itself and
  /// -0 does not match 0: the cached work was computed from exactly these bits).
  static func sameBits(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Bool {
    memcmp(a, b, count * MemoryLayout<Float>.stride) == 0
  }
}

/// A layer whose training forward pass can leave work in a `ForwardCache` for its backward
/// pass. Both methods give exactly (to the bit) what `forward` and `backward` give; they
/// only differ in speed. The model's training passes call them (see `Model.forward(_:count:
/// workspace:keep:)`); everything else calls the stateless methods.
protocol ForwardReusingLayer: Layer {
  /// `forward`, also filling `cache` (or clearing it when it cannot).
  func forward(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int,
    keeping cache: ForwardCache)

  /// `backward`, reading `cache` when it holds this layer's work on exactly this input
  /// (checked), recomputing otherwise. Does not change the cache's validity.
  func backward(
    _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
    _ dx: UnsafeMutablePointer<Float>?, count n: Int, parameterGradients: Bool,
    reusing cache: ForwardCache)
}
