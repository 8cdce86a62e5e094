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
  /// Steps taken (Adam's bias correction uses it).
  private(set) var steps = 0
  private var first: [[Float]]
  private var second: [[Float]]
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
                let stepSize = lr / bc1
                let decoupled = kind == .adamw
                let wd = weightDecay
                for i in 0..<count {
                  var gi = g[i]
                  if decoupled { w[i] *= 1 - lr * wd } else { gi += wd * w[i] }
                  m[i] = b1 * m[i] + (1 - b1) * gi
                  v[i] = b2 * v[i] + (1 - b2) * gi * gi
                  w[i] -= stepSize * m[i] / (v[i].squareRoot() / bc2Root + eps)
                }
              }
            }
          }
        }
      }
    }
  }
}
