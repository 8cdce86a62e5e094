/// Everything a trainer is configured with. Its JSON form is the `config_json` of
/// `lamina_trainer_create`; every key has a default, and `json` gives the full form.
public struct TrainerConfig: Equatable, Sendable {
  public var optimizer: OptimizerKind = .adam
  /// Base learning rate. JSON without "learning_rate" gives 1e-3, or 1 for lbfgs (PyTorch's
  /// `LBFGS` default); set it yourself when changing `optimizer` on this struct.
  public var learningRate: Double = 1e-3
  public var momentum: Double = 0
  public var nesterov = false
  public var beta1: Double = 0.9
  public var beta2: Double = 0.999
  public var epsilon: Double = 1e-8
  /// L2 penalty (sgd, adam) or decoupled decay (adamw, default 0.01). Not used by lbfgs
  /// (JSON with lbfgs refuses a non-zero value).
  public var weightDecay: Double = 0
  /// Global gradient-norm clip; 0 is off. Not used by lbfgs (JSON with lbfgs refuses a
  /// non-zero value).
  public var clipNorm: Double = 0
  public var loss: Loss = .mse
  public var schedule: ScheduleKind = .constant
  public var warmupSteps = 0
  public var decaySteps = 0
  public var gamma: Double = 0.1
  public var minLearningRate: Double = 0
  public var batchSize = 256
  public var epochs = 10
  public var shuffle = true
  public var seed: UInt64 = 0
  public var validationSplit: Double = 0
  public var patience = 0
  public var restoreBest = true
  public var progressEvery = 0
  /// L-BFGS: iterations per step on one batch (PyTorch `max_iter`); at most
  /// `maxIter * 5 / 4` loss evaluations per step (`max_eval`).
  public var maxIter = 20
  /// L-BFGS: curvature pairs remembered (pykan's 10; PyTorch's default is 100).
  public var historySize = 10
  /// L-BFGS: a step ends once every gradient element is at most this in magnitude.
  public var toleranceGrad: Double = 1e-7
  /// L-BFGS: a step ends once the loss or the weights change by less than this.
  public var toleranceChange: Double = 1e-9
  /// L-BFGS: a curvature pair (y, s) is remembered only when y . s exceeds this (PyTorch's
  /// fixed 1e-10; pykan's own LBFGS copy makes it `tolerance_ys` and passes 1e-32, which
  /// keeps the memory alive once the loss is tiny).
  public var toleranceYs: Double = 1e-10
  /// L-BFGS: how the step length is chosen.
  public var lineSearch: LineSearch = .strongWolfe
  /// pykan's KAN sparsity regulariser ("lamb", "lamb_l1", "lamb_entropy", "lamb_coef",
  /// "lamb_coefdiff", "reg_metric"); off by default.
  public var regularization = KANRegularization()

  /// Distance losses (mse, l1, huber, unsigned_distance) clamp prediction and target to
  /// [-truncation, truncation] first (DeepSDF); 0 is off.
  public var truncation: Double = 0
  /// Learning rates for chosen tensors, by full tensor name ("0.planes") or by the name
  /// within its layer ("planes", every layer's), the full name winning: tri-plane fields
  /// usually want a higher rate for planes than for the decoder. Each rate is scaled by the
  /// schedule as the base rate is. Not supported with lbfgs.
  public var learningRates: [(name: String, rate: Double)] = []
  /// Tri-plane regularisers: weight of the planes' total variation and of their mean square
  /// (0 = off; > 0 needs a tri-plane layer).
  public var planeTV: Double = 0
  public var planeL2: Double = 0
  /// pykan's fit(singularity_avoiding=True, y_th=...): every training pass (step, fit,
  /// kan_fit's steps, VJP and loss-term steps) evaluates the symbolic edges of B-spline KAN
  /// layers in pykan's singularity-avoiding forms with threshold `yTh`
  /// (`SymbolicFunction.protected`), values and gradients; `evaluate`, validation and
  /// kan_fit's test loss stay plain, as pykan's test forward. Off by default.
  public var singularityAvoiding = false
  /// pykan's y_th for `singularityAvoiding` (> 0; pykan's fit default 1000).
  public var yTh: Double = 1000

  /// The threshold training passes use: `yTh` with `singularityAvoiding`, else nil.
  var symbolicThreshold: Double? { singularityAvoiding ? yTh : nil }

  /// The defaults.
  public init() {}

  public static func == (a: TrainerConfig, b: TrainerConfig) -> Bool {
    a.json == b.json
  }

  /// Parses a config object; unknown keys and out-of-range values throw.
  public init(json value: JSONValue) throws {
    let r = try JSONObjectReader(value, what: "trainer config")
    let name = try r.string("optimizer", default: "adam")
    guard let kind = OptimizerKind(rawValue: name) else {
      throw LaminaError.invalid(
        "trainer config: unknown optimizer \"\(name)\" (known: sgd, adam, adamw, lbfgs)")
    }
    optimizer = kind
    learningRate = try r.double(
      "learning_rate", default: kind == .lbfgs ? 1 : 1e-3, min: 0, max: 1e6)
    momentum = try r.double("momentum", default: 0, min: 0, max: 1)
    nesterov = try r.bool("nesterov", default: false)
    if nesterov && (kind != .sgd || momentum == 0) {
      throw LaminaError.invalid(
        "trainer config: nesterov needs optimizer \"sgd\" with momentum > 0")
    }
    beta1 = try r.double("beta1", default: 0.9, min: 0, max: 1, exclusiveMax: true)
    beta2 = try r.double("beta2", default: 0.999, min: 0, max: 1, exclusiveMax: true)
    epsilon = try r.double("epsilon", default: 1e-8, min: 0, max: 1, exclusiveMin: true)
    weightDecay = try r.double("weight_decay", default: kind == .adamw ? 0.01 : 0, min: 0, max: 1e3)
    clipNorm = try r.double("clip_norm", default: 0, min: 0)
    // L-BFGS's line search needs the loss and gradient of one function: clipping the
    // gradient, or an L2 term added to the gradient only, would break that (PyTorch's LBFGS
    // has neither), so both are refused rather than silently ignored.
    if kind == .lbfgs && weightDecay > 0 {
      throw LaminaError.invalid(
        "trainer config: \"weight_decay\" is not supported with optimizer \"lbfgs\" (must be 0)")
    }
    if kind == .lbfgs && clipNorm > 0 {
      throw LaminaError.invalid(
        "trainer config: \"clip_norm\" is not supported with optimizer \"lbfgs\" (must be 0)")
    }
    maxIter = try r.int("max_iter", default: 20, min: 1, max: 1 << 20)
    historySize = try r.int("history_size", default: 10, min: 1, max: 10_000)
    toleranceGrad = try r.double("tolerance_grad", default: 1e-7, min: 0)
    toleranceChange = try r.double("tolerance_change", default: 1e-9, min: 0)
    toleranceYs = try r.double("tolerance_ys", default: 1e-10, min: 0)
    let searchName = try r.string("line_search", default: "strong_wolfe")
    guard let search = LineSearch(rawValue: searchName) else {
      throw LaminaError.invalid(
        "trainer config: unknown line_search \"\(searchName)\" (known: strong_wolfe, none)")
    }
    lineSearch = search
    let lossName = try r.string("loss", default: "mse")
    let delta = try r.double("huber_delta", default: 1, min: 0, exclusiveMin: true)
    switch lossName {
    case "mse": loss = .mse
    case "l1": loss = .l1
    case "huber": loss = .huber(delta: Float(delta))
    case "bce_with_logits", "bce": loss = .bceWithLogits
    case "cross_entropy": loss = .crossEntropy
    case "unsigned_distance": loss = .unsignedDistance
    default:
      throw LaminaError.invalid(
        "trainer config: unknown loss \"\(lossName)\" (known: \(Loss.names.joined(separator: ", ")))"
      )
    }
    huberDelta = delta
    let scheduleName = try r.string("schedule", default: "constant")
    guard let sk = ScheduleKind(rawValue: scheduleName) else {
      throw LaminaError.invalid(
        "trainer config: unknown schedule \"\(scheduleName)\" (known: constant, step, exponential, cosine)"
      )
    }
    schedule = sk
    warmupSteps = try r.int("warmup_steps", default: 0, min: 0, max: 1 << 40)
    decaySteps = try r.int("decay_steps", default: 0, min: 0, max: 1 << 40)
    if sk == .step && decaySteps == 0 {
      throw LaminaError.invalid("trainer config: schedule \"step\" needs \"decay_steps\" > 0")
    }
    gamma = try r.double("gamma", default: sk == .exponential ? 0.999 : 0.1, min: 0, max: 1)
    minLearningRate = try r.double("min_learning_rate", default: 0, min: 0, max: learningRate)
    batchSize = try r.int("batch_size", default: 256, min: 1, max: 1 << 24)
    epochs = try r.int("epochs", default: 10, min: 1, max: 1 << 30)
    shuffle = try r.bool("shuffle", default: true)
    seed = UInt64(try r.int("seed", default: 0, min: 0, max: 9_007_199_254_740_991))
    // At least one sample must be left to train on: 1 itself is refused, by the same message.
    validationSplit = try r.double(
      "validation_split", default: 0, min: 0, max: 1, exclusiveMax: true)
    patience = try r.int("patience", default: 0, min: 0, max: 1 << 30)
    restoreBest = try r.bool("restore_best", default: true)
    progressEvery = try r.int("progress_every", default: 0, min: 0, max: 1 << 40)
    regularization.lamb = try r.double("lamb", default: 0, min: 0, max: 1e6)
    regularization.l1 = try r.double("lamb_l1", default: 1, min: 0, max: 1e6)
    regularization.entropy = try r.double("lamb_entropy", default: 2, min: 0, max: 1e6)
    regularization.coef = try r.double("lamb_coef", default: 0, min: 0, max: 1e6)
    regularization.coefDiff = try r.double("lamb_coefdiff", default: 0, min: 0, max: 1e6)
    regularization.metric = try r.string("reg_metric", default: "edge_forward_spline_n")
    guard KANRegularization.metrics.contains(regularization.metric) else {
      throw LaminaError.invalid(
        "trainer config: unknown or unsupported reg_metric \"\(regularization.metric)\" "
          + "(supported: \(KANRegularization.metrics.joined(separator: ", ")))")
    }
    truncation = try r.double("truncation", default: 0, min: 0, max: 1e30)
    if let rates = r.value("learning_rates") {
      guard case .object(let pairs) = rates else {
        throw LaminaError.invalid(
          "trainer config: \"learning_rates\" must be an object of tensor name -> rate, not \(rates.typeName)"
        )
      }
      guard pairs.count <= Limits.maxLayers * 8 else {
        throw LaminaError.invalid("trainer config: \"learning_rates\" has too many entries")
      }
      for (name, value) in pairs {
        guard case .number(let rate) = value, rate.isFinite, rate >= 0, rate <= 1e6 else {
          throw LaminaError.invalid(
            "trainer config: learning_rates[\"\(name)\"] must be a number from 0 to 1e6")
        }
        learningRates.append((name, rate))
      }
      if kind == .lbfgs && !learningRates.isEmpty {
        throw LaminaError.invalid(
          "trainer config: \"learning_rates\" is not supported with optimizer \"lbfgs\"")
      }
    }
    planeTV = try r.double("plane_tv", default: 0, min: 0, max: 1e6)
    planeL2 = try r.double("plane_l2", default: 0, min: 0, max: 1e6)
    singularityAvoiding = try r.bool("singularity_avoiding", default: false)
    yTh = try r.double("y_th", default: 1000, min: 0, exclusiveMin: true)
    try r.finish()
  }

  /// Each parameter's learning rate as a multiple of the base rate, for the tensors named
  /// `names` ("<layer>.<parameter>"); throws when an entry of `learningRates` names no tensor.
  func learningRateFactors(names: [String]) throws -> [Float] {
    var factors = [Float](repeating: 1, count: names.count)
    guard !learningRates.isEmpty else { return factors }
    let base = learningRate > 0 ? learningRate : 1
    for (key, rate) in learningRates {
      var matched = false
      for (i, full) in names.enumerated() {
        let short = full.split(separator: ".", maxSplits: 1).last.map(String.init) ?? full
        if full == key || (short == key && !learningRates.contains { $0.name == full }) {
          factors[i] = Float(rate / base)
          matched = true
        }
      }
      guard matched else {
        throw LaminaError.invalid(
          "trainer config: learning_rates names \"\(key)\", which is not a trainable tensor of the model"
        )
      }
    }
    return factors
  }

  /// Huber's threshold (kept even when another loss is chosen, so the full form is stable).
  public var huberDelta: Double = 1

  /// The full config as JSON, every default filled in.
  public var json: JSONValue {
    .object([
      ("optimizer", .string(optimizer.rawValue)), ("learning_rate", .number(learningRate)),
      ("momentum", .number(momentum)), ("nesterov", .bool(nesterov)),
      ("beta1", .number(beta1)), ("beta2", .number(beta2)), ("epsilon", .number(epsilon)),
      ("weight_decay", .number(weightDecay)), ("clip_norm", .number(clipNorm)),
      ("loss", .string(loss.name)), ("huber_delta", .number(huberDelta)),
      ("schedule", .string(schedule.rawValue)), ("warmup_steps", .number(Double(warmupSteps))),
      ("decay_steps", .number(Double(decaySteps))), ("gamma", .number(gamma)),
      ("min_learning_rate", .number(minLearningRate)),
      ("batch_size", .number(Double(batchSize))), ("epochs", .number(Double(epochs))),
      ("shuffle", .bool(shuffle)), ("seed", .number(Double(seed))),
      ("validation_split", .number(validationSplit)), ("patience", .number(Double(patience))),
      ("restore_best", .bool(restoreBest)), ("progress_every", .number(Double(progressEvery))),
      ("max_iter", .number(Double(maxIter))), ("history_size", .number(Double(historySize))),
      ("tolerance_grad", .number(toleranceGrad)), ("tolerance_change", .number(toleranceChange)),
      ("tolerance_ys", .number(toleranceYs)),
      ("line_search", .string(lineSearch.rawValue)),
      ("lamb", .number(regularization.lamb)), ("lamb_l1", .number(regularization.l1)),
      ("lamb_entropy", .number(regularization.entropy)),
      ("lamb_coef", .number(regularization.coef)),
      ("lamb_coefdiff", .number(regularization.coefDiff)),
      ("reg_metric", .string(regularization.metric)),
      ("truncation", .number(truncation)),
      ("learning_rates", .object(learningRates.map { ($0.name, .number($0.rate)) })),
      ("plane_tv", .number(planeTV)), ("plane_l2", .number(planeL2)),
      ("singularity_avoiding", .bool(singularityAvoiding)), ("y_th", .number(yTh)),
    ])
  }
}
