#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A training objective over a batch of predictions and targets (both n x k), reduced by
/// the mean as PyTorch's `reduction="mean"` does.
public enum Loss: Equatable, Sendable {
  /// Mean squared error over all elements.
  case mse
  /// Mean absolute error over all elements.
  case l1
  /// Huber loss with threshold `delta` (PyTorch's `HuberLoss`), mean over all elements.
  case huber(delta: Float)
  /// Sigmoid plus binary cross-entropy, on logits, stable for any logit; mean over all elements.
  case bceWithLogits
  /// Softmax over each row's k logits plus cross-entropy with (one-hot or soft) target rows,
  /// mean over the n rows.
  case crossEntropy
  /// Mean absolute error between |prediction| and an unsigned-distance target: fits an
  /// unsigned distance field, whose zero set is the surface, with a network whose raw output
  /// may take either sign (the field is |output|).
  case unsignedDistance

  /// The config name.
  public var name: String {
    switch self {
    case .mse: return "mse"
    case .l1: return "l1"
    case .huber: return "huber"
    case .bceWithLogits: return "bce_with_logits"
    case .crossEntropy: return "cross_entropy"
    case .unsignedDistance: return "unsigned_distance"
    }
  }

  static let names = [
    "mse", "l1", "huber", "bce_with_logits", "cross_entropy", "unsigned_distance",
  ]

  /// Whether `truncation` applies: losses on distances compare values elementwise.
  var isElementwiseDistance: Bool {
    switch self {
    case .mse, .l1, .huber, .unsignedDistance: return true
    case .bceWithLogits, .crossEntropy: return false
    }
  }

  /// The loss with prediction and target clamped to [-truncation, truncation] first, as
  /// DeepSDF trains signed distances: far from the surface only the sign matters, so error
  /// there is not fitted. The gradient is zero where the prediction is clamped. A
  /// truncation of 0 (or a loss that is not a distance loss) is the plain loss.
  public func evaluate(
    _ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, rows n: Int, columns k: Int,
    truncation: Float, gradient grad: UnsafeMutablePointer<Float>?
  ) -> Float {
    let total = sum(p, t, rows: n, columns: k, truncation: truncation, of: n, gradient: grad)
    return n * k > 0 ? Float(total / Double(denominator(rows: n, columns: k))) : 0
  }

  /// What the loss is the mean over for `n` rows of `k` columns: every element, or every
  /// row for cross-entropy.
  func denominator(rows n: Int, columns k: Int) -> Int {
    self == .crossEntropy ? n : n * k
  }

  /// The unreduced sum of the loss terms of `n` rows that are part of a batch of
  /// `batchRows` rows, with, when `grad` is given, dL/dp of the batch's mean loss for those
  /// rows: these sums over consecutive row ranges, added in order and divided by
  /// `denominator(rows: batchRows, ...)`, are `evaluate` on the whole batch up to the
  /// rounding of the Double sums, and the gradient is the same to the bit.
  /// (The pipelined training step evaluates its row blocks this way.)
  func sum(
    _ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, rows n: Int, columns k: Int,
    truncation: Float, of batchRows: Int, gradient grad: UnsafeMutablePointer<Float>?
  ) -> Double {
    guard truncation > 0, isElementwiseDistance else {
      return sum(p, t, rows: n, columns: k, of: batchRows, gradient: grad)
    }
    // Clamp one element at a time through a one-element loss, so nothing is allocated; the
    // elementwise losses are means, so per-element values and gradients rescale exactly.
    let count = n * k
    guard count > 0 else { return 0 }
    let scale = Float(denominator(rows: batchRows, columns: k))
    var total: Double = 0
    var pc: Float = 0
    var tc: Float = 0
    var g: Float = 0
    for i in 0..<count {
      pc = min(max(p[i], -truncation), truncation)
      tc = min(max(t[i], -truncation), truncation)
      total += Double(
        withUnsafeMutablePointer(to: &g) { gp in
          evaluate(&pc, &tc, rows: 1, columns: 1, gradient: gp)
        })
      if let grad { grad[i] = abs(p[i]) < truncation ? g / scale : 0 }
    }
    return total
  }

  /// The loss of `p` against `t` (n x k each); when `grad` is given, writes dL/dp into it.
  public func evaluate(
    _ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, rows n: Int, columns k: Int,
    gradient grad: UnsafeMutablePointer<Float>?
  ) -> Float {
    guard n * k > 0 else { return 0 }
    let total = sum(p, t, rows: n, columns: k, of: n, gradient: grad)
    return Float(total / Double(denominator(rows: n, columns: k)))
  }

  /// `sum(_:_:rows:columns:truncation:of:gradient:)` without truncation.
  func sum(
    _ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, rows n: Int, columns k: Int,
    of batchRows: Int, gradient grad: UnsafeMutablePointer<Float>?
  ) -> Double {
    let count = n * k
    guard count > 0 else { return 0 }
    // The mean's divisor: the whole batch's elements (rows for cross-entropy).
    let whole = Float(denominator(rows: batchRows, columns: k))
    var total: Double = 0
    switch self {
    case .mse:
      let scale = 2 / whole
      for i in 0..<count {
        let d = p[i] - t[i]
        total += Double(d * d)
        grad?[i] = scale * d
      }
      return total
    case .l1:
      let scale = 1 / whole
      for i in 0..<count {
        let d = p[i] - t[i]
        total += Double(abs(d))
        grad?[i] = d > 0 ? scale : (d < 0 ? -scale : 0)
      }
      return total
    case .huber(let delta):
      let scale = 1 / whole
      for i in 0..<count {
        let d = p[i] - t[i]
        if abs(d) < delta {
          total += Double(0.5 * d * d)
          grad?[i] = scale * d
        } else {
          total += Double(delta * (abs(d) - 0.5 * delta))
          grad?[i] = scale * (d > 0 ? delta : -delta)
        }
      }
      return total
    case .bceWithLogits:
      let scale = 1 / whole
      for i in 0..<count {
        let x = p[i]
        let y = t[i]
        // max(x, 0) - x y + log(1 + exp(-|x|)): never overflows.
        total += Double(max(x, 0) - x * y + log1pf(expf(-abs(x))))
        let s = x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
        grad?[i] = scale * (s - y)
      }
      return total
    case .crossEntropy:
      let scale = 1 / whole
      for r in 0..<n {
        let row = p + r * k
        let target = t + r * k
        var m = row[0]
        for j in 1..<k { m = max(m, row[j]) }
        var sum: Float = 0
        for j in 0..<k { sum += expf(row[j] - m) }
        let logZ = m + logf(sum)
        var tsum: Float = 0
        for j in 0..<k {
          total += Double(target[j] * (logZ - row[j]))
          tsum += target[j]
        }
        if let grad {
          for j in 0..<k { grad[r * k + j] = scale * (expf(row[j] - logZ) * tsum - target[j]) }
        }
      }
      return total
    case .unsignedDistance:
      let scale = 1 / whole
      for i in 0..<count {
        let d = abs(p[i]) - t[i]
        total += Double(abs(d))
        let outer: Float = d > 0 ? scale : (d < 0 ? -scale : 0)
        grad?[i] = p[i] >= 0 ? outer : -outer
      }
      return total
    }
  }
}
