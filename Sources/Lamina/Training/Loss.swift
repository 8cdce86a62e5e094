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

  /// The config name.
  public var name: String {
    switch self {
    case .mse: return "mse"
    case .l1: return "l1"
    case .huber: return "huber"
    case .bceWithLogits: return "bce_with_logits"
    case .crossEntropy: return "cross_entropy"
    }
  }

  static let names = ["mse", "l1", "huber", "bce_with_logits", "cross_entropy"]

  /// The loss of `p` against `t` (n x k each); when `grad` is given, writes dL/dp into it.
  public func evaluate(
    _ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, rows n: Int, columns k: Int,
    gradient grad: UnsafeMutablePointer<Float>?
  ) -> Float {
    let count = n * k
    guard count > 0 else { return 0 }
    var total: Double = 0
    switch self {
    case .mse:
      let scale = 2 / Float(count)
      for i in 0..<count {
        let d = p[i] - t[i]
        total += Double(d * d)
        grad?[i] = scale * d
      }
      return Float(total / Double(count))
    case .l1:
      let scale = 1 / Float(count)
      for i in 0..<count {
        let d = p[i] - t[i]
        total += Double(abs(d))
        grad?[i] = d > 0 ? scale : (d < 0 ? -scale : 0)
      }
      return Float(total / Double(count))
    case .huber(let delta):
      let scale = 1 / Float(count)
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
      return Float(total / Double(count))
    case .bceWithLogits:
      let scale = 1 / Float(count)
      for i in 0..<count {
        let x = p[i]
        let y = t[i]
        // max(x, 0) - x y + log(1 + exp(-|x|)): never overflows.
        total += Double(max(x, 0) - x * y + log1pf(expf(-abs(x))))
        let s = x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x))
        grad?[i] = scale * (s - y)
      }
      return Float(total / Double(count))
    case .crossEntropy:
      let scale = 1 / Float(n)
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
      return Float(total / Double(n))
    }
  }
}
