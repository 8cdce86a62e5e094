#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Learning-rate schedules, evaluated per optimizer step.
public enum ScheduleKind: String, CaseIterable, Sendable {
  case constant, step, exponential, cosine
}

extension TrainerConfig {
  /// The learning rate for optimizer step `t` (0-based); `horizon` is the total number of
  /// steps a cosine schedule spans when `decay_steps` is 0.
  func learningRate(step t: Int, horizon: Int) -> Float {
    Float(exactLearningRate(step: t, horizon: horizon))
  }

  /// The same in double precision (L-BFGS keeps its step length in double).
  func exactLearningRate(step t: Int, horizon: Int) -> Double {
    let base = learningRate
    if t < warmupSteps { return base * Double(t + 1) / Double(warmupSteps) }
    let s = Double(t - warmupSteps)
    switch schedule {
    case .constant:
      return base
    case .step:
      return base * pow(gamma, (s / Double(decaySteps)).rounded(.down))
    case .exponential:
      return base * pow(gamma, s)
    case .cosine:
      let span = Double(max(1, (decaySteps > 0 ? decaySteps : horizon - warmupSteps)))
      let progress = min(s, span) / span
      return minLearningRate + (base - minLearningRate) * 0.5 * (1 + cos(Double.pi * progress))
    }
  }
}
