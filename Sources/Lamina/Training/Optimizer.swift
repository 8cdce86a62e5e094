#if arch(x86_64)
  import _Builtin_intrinsics.intel
#endif
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Update rules, as PyTorch defines them (`torch.optim.SGD`, `Adam`, `AdamW`, `LBFGS`).
public enum OptimizerKind: String, CaseIterable, Sendable {
  case sgd, adam, adamw
  /// Limited-memory BFGS with a line search; steps are taken by `LBFGS`, not `Optimizer`.
  case lbfgs
}

/// A first-order optimizer's settings and its per-parameter state (sgd, adam, adamw).
final class Optimizer {
  let kind: OptimizerKind
  let momentum: Float
  let nesterov: Bool
  let beta1: Float
  let beta2: Float
  let epsilon: Float
  let weightDecay: Float
  /// Steps taken (Adam's bias correction uses it). Internal, not private, as are the
  /// moments: a trainer state (`TrainerState.swift`) reads and restores them.
  var steps = 0
  /// Per parameter: the first moment (adam, adamw; sgd's momentum buffer) and the second
  /// (adam, adamw); empty arrays where the rule keeps none.
  var first: [[Float]]
  var second: [[Float]]
  /// Each parameter's learning rate as a multiple of the scheduled rate (config
  /// "learning_rates"; 1 for most).
  let rateFactors: [Float]

  init(config: TrainerConfig, parameters: [Parameter], rateFactors: [Float]? = nil) {
    self.rateFactors = rateFactors ?? [Float](repeating: 1, count: parameters.count)
    kind = config.optimizer
    momentum = Float(config.momentum)
    nesterov = config.nesterov
    beta1 = Float(config.beta1)
    beta2 = Float(config.beta2)
    epsilon = Float(config.epsilon)
    weightDecay = Float(config.weightDecay)
    let adaptive = config.optimizer == .adam || config.optimizer == .adamw
    let needsFirst = adaptive || (config.optimizer == .sgd && config.momentum != 0)
    let needsSecond = adaptive
    first = parameters.map { [Float](repeating: 0, count: needsFirst ? $0.count : 0) }
    second = parameters.map { [Float](repeating: 0, count: needsSecond ? $0.count : 0) }
  }

  /// Whether an update at `lr` can turn finite weights into non-finite ones although the
  /// loss and every gradient element were finite (the trainer has checked that the squared
  /// gradient norm is finite in float, so every |g| < 2^64): sgd's and adamw's weight decay
  /// multiplies a weight by about 1 - lr weight_decay each step, which grows without bound
  /// once lr weight_decay > 2, even for a weight the loss does not see. Otherwise a step
  /// moves a weight by at most lr (|g| + 2 |w|) (sgd, lr <= 1e6) or a small multiple of lr
  /// (adam: m / sqrt(v) is bounded), which cannot overflow before the loss does.
  func mayOverflow(learningRate lr: Float) -> Bool {
    switch kind {
    case .sgd, .adamw: return weightDecay > 0 && rateFactors.contains { lr * $0 * weightDecay > 2 }
    case .adam, .lbfgs: return false
    }
  }

  /// `update`, undone (weights and optimizer state) when it made a weight non-finite, for
  /// the configurations `mayOverflow` names; returns false then. Other updates run as
  /// `update` does, without the copy.
  func checkedUpdate(_ parameters: [Parameter], learningRate lr: Float) -> Bool {
    guard mayOverflow(learningRate: lr) else {
      update(parameters, learningRate: lr)
      return true
    }
    let saved = (parameters.map(\.value), first, second, steps)
    update(parameters, learningRate: lr)
    let finite = parameters.allSatisfy { p in
      p.value.withUnsafeBufferPointer { Optimizer.allFinite($0) }
    }
    if !finite {
      for (p, w) in zip(parameters, saved.0) { p.value = w }
      (first, second, steps) = (saved.1, saved.2, saved.3)
    }
    return finite
  }

  /// Whether every element is finite (w - w is 0 for finite w, NaN otherwise).
  static func allFinite(_ w: UnsafeBufferPointer<Float>) -> Bool {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= w.count {
      let v = load8(w.baseAddress! + i)
      lanes += v - v
      i += 8
    }
    var s = lanes.sum()
    while i < w.count {
      s += w[i] - w[i]
      i += 1
    }
    return s == 0
  }

  /// Applies one update with learning rate `lr` from each parameter's `gradient`.
  func update(_ parameters: [Parameter], learningRate lr: Float) {
    steps += 1
    let t = Float(steps)
    let bc1 = 1 - powf(beta1, t)
    let bc2Root = (1 - powf(beta2, t)).squareRoot()
    let baseRate = lr
    for (index, p) in parameters.enumerated() {
      let count = p.count
      let lr = baseRate * rateFactors[index]
      p.value.withUnsafeMutableBufferPointer { wb in
        p.gradient.withUnsafeBufferPointer { gb in
          first[index].withUnsafeMutableBufferPointer { mb in
            second[index].withUnsafeMutableBufferPointer { vb in
              let w = wb.baseAddress!
              let g = gb.baseAddress!
              switch kind {
              case .sgd:
                let wd = weightDecay
                if momentum == 0 {
                  for i in 0..<count { w[i] -= lr * (g[i] + wd * w[i]) }
                } else {
                  let m = mb.baseAddress!
                  let mu = momentum
                  let firstStep = steps == 1
                  for i in 0..<count {
                    let gi = g[i] + wd * w[i]
                    m[i] = firstStep ? gi : mu * m[i] + gi
                    w[i] -= lr * (nesterov ? gi + mu * m[i] : m[i])
                  }
                }
              case .lbfgs:
                break  // never reached: the trainer steps L-BFGS through `LBFGS`
              case .adam, .adamw:
                let m = mb.baseAddress!
                let v = vb.baseAddress!
                let (b1, b2, eps) = (beta1, beta2, epsilon)
                var job = AdamChunks(
                  w: w, g: g, m: m, v: v, count: count, beta1: b1, beta2: b2, epsilon: eps,
                  stepSize: lr / bc1, bc2Root: bc2Root,
                  decay: kind == .adamw ? 1 - lr * weightDecay : 1,
                  l2: kind == .adamw ? 0 : weightDecay)
                let chunks = (count + Optimizer.chunk - 1) / Optimizer.chunk
                // One chunk runs on the calling thread (the pool does that itself).
                Parallel.run(chunks, &job)
              }
            }
          }
        }
      }
    }
  }

  /// Elements per task when a large tensor's Adam update runs in parallel (a tri-plane
  /// model's 786k plane values took about a millisecond on one thread, every step). A
  /// multiple of the update's four lanes, so every chunk but the last has no scalar tail;
  /// the update is elementwise and the lanes round as the scalar tail does, so the chunks
  /// change no value.
  static let chunk = 1 << 16

  /// Adam's update of one parameter in chunks of `Optimizer.chunk` elements, as a pool job.
  private struct AdamChunks: PoolJob {
    let w: UnsafeMutablePointer<Float>
    let g: UnsafePointer<Float>
    let m: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>
    let count: Int
    let beta1: Float
    let beta2: Float
    let epsilon: Float
    let stepSize: Float
    let bc2Root: Float
    let decay: Float
    let l2: Float

    func run(_ chunk: Int) {
      let start = chunk * Optimizer.chunk
      Optimizer.adam(
        w + start, g + start, m + start, v + start, count: min(Optimizer.chunk, count - start),
        beta1: beta1, beta2: beta2, epsilon: epsilon, stepSize: stepSize, bc2Root: bc2Root,
        decay: decay, l2: l2)
    }
  }

  /// Adam's update of `count` weights, four lanes at a time: w *= decay (AdamW's decoupled
  /// decay; 1 for Adam), g' = g + l2 w (Adam's L2 term; 0 for AdamW), m and v updated, then
  /// w -= stepSize m / (sqrt(v) / bc2Root + eps), as torch.optim.Adam(W). Each lane does the
  /// scalar tail's operations in the same order (sqrt and division are exact in SIMD too),
  /// so the result does not depend on the vector width. The square root was the cost here:
  /// `squareRoot()` of a SIMD vector lowers to one libm call per lane, so x86-64 uses
  /// SSE's `sqrtps` directly.
  @inline(__always)
  static func adam(
    _ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
    _ v: UnsafeMutablePointer<Float>, count: Int, beta1 b1: Float, beta2 b2: Float,
    epsilon eps: Float, stepSize: Float, bc2Root: Float, decay: Float, l2: Float
  ) {
    typealias V = SIMD4<Float>
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> V {
      UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    @inline(__always) func store(_ x: V, _ p: UnsafeMutablePointer<Float>) {
      UnsafeMutableRawPointer(p).storeBytes(of: x, as: V.self)
    }
    @inline(__always) func squareRoot(_ x: V) -> V {
      #if arch(x86_64)
        return _mm_sqrt_ps(x)
      #else
        return x.squareRoot()
      #endif
    }
    let (c1, c2) = (1 - b1, 1 - b2)
    var i = 0
    while i + 4 <= count {
      let wi = load(w + i) * decay
      let gi = load(g + i) + l2 * wi
      let mi = b1 * load(m + i) + c1 * gi
      let vi = b2 * load(v + i) + c2 * gi * gi
      store(mi, m + i)
      store(vi, v + i)
      store(wi - stepSize * mi / (squareRoot(vi) / bc2Root + eps), w + i)
      i += 4
    }
    while i < count {
      let wi = w[i] * decay
      let gi = g[i] + l2 * wi
      m[i] = b1 * m[i] + c1 * gi
      v[i] = b2 * v[i] + c2 * gi * gi
      w[i] = wi - stepSize * m[i] / (v[i].squareRoot() / bc2Root + eps)
      i += 1
    }
  }
}
