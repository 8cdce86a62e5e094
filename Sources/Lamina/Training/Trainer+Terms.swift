/// Training on losses made of weighted terms (`LossTerms`), each on its own points, some on
/// derivatives of the output with respect to the input: value and boundary terms run the
/// ordinary passes, the others jet passes (`Model+Jet.swift`), and every term's gradient
/// is summed into the parameters' before one optimizer step.
extension Trainer {
  /// One optimizer step on every term (each on its batch: all its points, or `batchSize`
  /// drawn without replacement). Returns the weighted total and each term's unweighted
  /// loss at the weights the step started from (with lbfgs, at its first evaluation).
  /// Errors as `step`: a non-finite loss or gradient throws `.numeric` with the weights as
  /// before the step.
  @discardableResult
  public func stepTerms(_ terms: LossTerms) throws -> (total: Float, terms: [Float]) {
    try checkTerms(terms)
    let scratch = termScratch
    scratch.drawBatches(terms, rng: &rng)
    var first: [Float]? = nil
    let losses = try update {
      let r = try model.withSymbolicSingularity(config.symbolicThreshold) {
        try termsLossAndGradient(terms, scratch)
      }
      if first == nil { first = r.terms }
      return (r.loss, r.squares, r.loss, .nan)
    }
    return (losses.loss, first ?? [])
  }

  /// `steps` calls of `stepTerms`, with `progress` after every `progress_every` steps (every
  /// step when it is 0) told the step and the total loss; returning false stops with
  /// `.cancelled`, keeping the weights of the last completed step. Returns each step's
  /// per-term losses (`history[s][t]`) and totals. A step that diverges throws `.numeric`
  /// ("training diverged at step s of S: ...") with the weights from before that step.
  /// `options` adds grid updates before chosen steps (`TermFitOptions`; none by default).
  @discardableResult
  public func fitTerms(
    _ terms: LossTerms, steps: Int, options: TermFitOptions = TermFitOptions(),
    progress: ((TrainingProgress) -> Bool)? = nil
  ) throws -> (totals: [Float], terms: [[Float]]) {
    try fitTerms(terms, steps: steps, options: options, each: nil, progress: progress)
  }

  /// `fitTerms`, calling `each(step, total, termLosses)` after every completed step (before
  /// `progress`), so a caller keeps the history of a run that fails or is cancelled.
  public func fitTerms(
    _ terms: LossTerms, steps: Int, options: TermFitOptions = TermFitOptions(),
    each: ((Int, Float, [Float]) -> Void)?, progress: ((TrainingProgress) -> Bool)?
  ) throws -> (totals: [Float], terms: [[Float]]) {
    guard steps > 0 else { throw LaminaError.invalid("fit_terms needs steps > 0") }
    guard steps <= KANFitOptions.maxSteps, stepsTaken <= Int.max - steps else {
      throw LaminaError.invalid(
        "fit_terms: steps = \(steps) is over the limit of \(KANFitOptions.maxSteps)")
    }
    try checkTerms(terms)
    try options.check(terms, model: model)
    let start = ContinuousClock.now
    horizon = stepsTaken + steps
    var info = TrainingProgress()
    info.steps = steps
    var totals: [Float] = []
    var history: [[Float]] = []
    // Grown as steps complete beyond this, so a huge `steps` reserves nothing absurd.
    totals.reserveCapacity(min(steps, 1 << 16))
    history.reserveCapacity(min(steps, 1 << 16))
    let every = max(1, config.progressEvery)
    for s in 1...steps {
      if options.updatesGrid(beforeStep: s - 1) {
        let points = terms.terms[options.gridUpdateTerm].points
        try model.updateGrid(samples: points, gridEps: options.gridEps)
      }
      do {
        let r = try stepTerms(terms)
        totals.append(r.total)
        history.append(r.terms)
        each?(s, r.total, r.terms)
      } catch let error as LaminaError where error.code == .numeric {
        let reason =
          error.message.hasPrefix("training diverged: ")
          ? String(error.message.dropFirst("training diverged: ".count)) : error.message
        throw LaminaError.numeric("training diverged at step \(s) of \(steps): " + reason)
      }
      info.step = s
      if let progress, s % every == 0 || s == steps {
        info.loss = totals[s - 1]
        info.elapsedSeconds = Trainer.seconds(since: start)
        if !progress(info) {
          throw LaminaError(.cancelled, "training cancelled by the progress callback")
        }
      }
    }
    return (totals, history)
  }

  /// Throws unless `terms` fit this trainer's model and config.
  func checkTerms(_ terms: LossTerms) throws {
    guard terms.inputDim == model.inputDim, terms.outputDim == model.outputDim else {
      throw LaminaError.shape(
        "loss terms were made for \(terms.inputDim) inputs and \(terms.outputDim) outputs; "
          + "the model has \(model.inputDim) and \(model.outputDim)")
    }
    try terms.checkReady()
    if terms.terms.contains(where: { $0.order > 0 }) {
      try model.checkJetSupport(for: "a derivative loss term")
    }
    if config.regularization.isActive {
      throw LaminaError(
        .unsupported,
        "loss terms do not take KAN regularisation (\"lamb\" > 0) yet; set lamb to 0")
    }
    for (i, term) in terms.terms.enumerated() {
      let rows = term.batchSize > 0 ? min(term.batchSize, term.count) : term.count
      try model.checkBatch(rows)
      if term.order > 0 {
        // A jet pass holds 1 + order * D streams of the rows at once.
        let streams = 1 + term.order * model.inputDim
        let (jetRows, overflow) = rows.multipliedReportingOverflow(by: streams)
        guard !overflow else {
          throw LaminaError(.outOfMemory, "loss term \(i): \(rows) points is over the batch limit")
        }
        do { try model.checkBatch(jetRows) } catch let e as LaminaError {
          throw LaminaError(
            e.code,
            "loss term \(i) (\(term.kind.rawValue)): \(rows) points with their "
              + "\(streams - 1) derivative streams are over the batch limit; use batch_size")
        }
      }
      if model.triplaneEncodings.isEmpty { continue }
      try term.points.withUnsafeBufferPointer { p in
        do { try model.checkTriplaneInput(p.baseAddress!, count: term.count) } catch let e
          as LaminaError
        {
          throw LaminaError(e.code, "loss term \(i): " + e.message)
        }
      }
    }
  }

  /// Every term's loss and gradient at the current weights, summed with the terms' weights
  /// into the parameters' gradients (zeroed first), then the tri-plane penalties.
  func termsLossAndGradient(_ terms: LossTerms, _ scratch: TermScratch) throws
    -> (loss: Float, squares: Double, terms: [Float])
  {
    for p in parameters {
      p.gradient.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
    var total: Double = 0
    var values = [Float](repeating: 0, count: terms.terms.count)
    let riders = riderPlan(terms, scratch)
    for (t, term) in terms.terms.enumerated() where riders[t] < 0 {
      let loss = scratch.withBatch(t, of: term, inputDim: model.inputDim) { x, targets, m in
        evaluateTerm(term, t, of: terms, x, targets, rows: m, scratch: scratch)
      }
      guard loss.isFinite else {
        throw LaminaError.numeric(
          "training diverged: loss term \(t) (\(term.kind.rawValue)) is \(loss); weights left "
            + "as before the step")
      }
      values[t] = Float(loss)
      total += term.weight * loss
      // Value terms on the same points rode along in this term's pass.
      for (r, rider) in terms.terms.enumerated() where riders[r] == t {
        let riderLoss = scratch.riderLosses[r]
        guard riderLoss.isFinite else {
          throw LaminaError.numeric(
            "training diverged: loss term \(r) (\(rider.kind.rawValue)) is \(riderLoss); "
              + "weights left as before the step")
        }
        values[r] = Float(riderLoss)
        total += rider.weight * riderLoss
      }
    }
    let (loss, squares) = try addPenalties(to: Float(total))
    return (loss, squares, values)
  }

  /// For each term, the index of the term whose gradient pass it rides along in (-1: its
  /// own pass): a value or boundary term on exactly the points of a first-order term that
  /// takes the gradient pass, neither drawing batches, needs no pass of its own, since that
  /// pass computes f anyway (the term's loss and adjoint join it). Value and eikonal terms
  /// on one set of points, the usual SDF fit, then cost one pass.
  private func riderPlan(_ terms: LossTerms, _ scratch: TermScratch) -> [Int] {
    var plan = [Int](repeating: -1, count: terms.terms.count)
    scratch.riders = []
    guard model.gradientLayers != nil, !usesJetsForFirstOrder else { return plan }
    let whole = terms.terms.map { $0.batchSize == 0 || $0.batchSize >= $0.count }
    for (t, term) in terms.terms.enumerated()
    where (term.kind == .value || term.kind == .boundary) && whole[t] {
      let host = terms.terms.indices.first { u in
        terms.terms[u].order == 1 && whole[u] && plan[u] < 0
          && terms.terms[u].points == term.points
      }
      if let host {
        plan[t] = host
        scratch.riders.append((term: t, host: host))
      }
    }
    if scratch.riderLosses.count != terms.terms.count {
      scratch.riderLosses = [Double](repeating: .nan, count: terms.terms.count)
    }
    return plan
  }

  /// One term's loss on `m` rows, adding `weight` times its gradient to the parameters'.
  private func evaluateTerm(
    _ term: LossTerm, _ index: Int, of terms: LossTerms, _ x: UnsafePointer<Float>,
    _ targets: UnsafePointer<Float>?, rows m: Int, scratch: TermScratch
  ) -> Double {
    let w = term.weight
    let dout = model.outputDim
    if term.order == 0 {
      let out = model.forward(x, count: m, workspace: workspace, keep: true)
      let g = workspace.gradientOut
      let loss = TermMath.values(term, out, targets, rows: m, columns: dout, weight: w, gradient: g)
      model.backward(x, count: m, workspace: workspace, parameterGradients: true)
      return loss
    }
    let shape = JetShape(rows: m, directions: model.inputDim, order: term.order)
    if term.order == 1 && model.gradientLayers != nil && !usesJetsForFirstOrder {
      return evaluateByGradientPass(
        term, index, of: terms, x, targets, shape: shape, scratch: scratch)
    }
    let ws = scratch.jets
    let out = model.jetForward(x, shape: shape, workspace: ws)
    let g = ws.gradientOut
    g.update(repeating: 0, count: shape.count(width: dout))
    let loss = TermMath.derivatives(term, out, targets, shape: shape, weight: w, gradient: g)
    model.jetBackward(shape: shape, workspace: ws, parameterGradients: true)
    return loss
  }
}

extension Trainer {
  /// A first-order term by the reverse-over-reverse gradient pass (`Model+GradientPass`):
  /// f and grad f are laid out as a first-order output jet for `TermMath`, whose adjoint
  /// goes back through the pass.
  fileprivate func evaluateByGradientPass(
    _ term: LossTerm, _ index: Int, of terms: LossTerms, _ x: UnsafePointer<Float>,
    _ targets: UnsafePointer<Float>?, shape: JetShape, scratch: TermScratch
  ) -> Double {
    let (m, dims) = (shape.rows, shape.directions)
    let ws = scratch.gradients
    model.gradientPassForward(x, count: m, workspace: ws)
    let count = shape.count(width: 1)
    scratch.reserveJetRows(count)
    return scratch.jetOut.withUnsafeMutableBufferPointer { outBuffer in
      scratch.jetAdjoint.withUnsafeMutableBufferPointer { adjointBuffer in
        let (out, g) = (outBuffer.baseAddress!, adjointBuffer.baseAddress!)
        let f = model.gradientPassValues(ws)
        let gx = ws.inputGradient
        for r in 0..<m {
          out[r] = f[r]
          for d in 0..<dims { out[(1 + d) * m + r] = gx[r * dims + d] }
        }
        g.update(repeating: 0, count: count)
        let loss = TermMath.derivatives(
          term, out, targets, shape: shape, weight: term.weight, gradient: g)
        // Value terms riding along (`riderPlan`): their loss from f, their adjoint added.
        let temporary = ws.values.gradientOut
        for (t, host) in scratch.riders where host == index {
          let rider = terms.terms[t]
          scratch.riderLosses[t] = rider.targets.withUnsafeBufferPointer { y in
            TermMath.values(
              rider, f, y.baseAddress, rows: m, columns: 1, weight: rider.weight,
              gradient: temporary)
          }
          for r in 0..<m { g[r] += temporary[r] }
        }
        for r in 0..<m {
          ws.valueAdjoint[r] = g[r]
          for d in 0..<dims { ws.inputGradientAdjoint[r * dims + d] = g[(1 + d) * m + r] }
        }
        model.gradientPassBackward(x, count: m, workspace: ws)
        return loss
      }
    }
  }
}

/// The terms' formulas: each loss and its weighted adjoint with respect to the output (or
/// output jet). Sums run in Double so large batches keep Float precision.
enum TermMath {
  /// Value-like terms (value, boundary, and a Laplacian term of order 0: a f = rhs) on the
  /// output values `f` (m x k); writes weight * dL/df into `gradient`.
  static func values(
    _ term: LossTerm, _ f: UnsafePointer<Float>, _ targets: UnsafePointer<Float>?, rows m: Int,
    columns k: Int, weight: Double, gradient g: UnsafeMutablePointer<Float>
  ) -> Double {
    let t = targets!
    let count = Double(m * k)
    var sum: Double = 0
    if term.kind == .laplacian {
      let a = term.a
      for r in 0..<m {
        let residual = a * Double(f[r]) - Double(t[r])
        sum += residual * residual
        g[r] = Float(weight * 2 * a * residual / Double(m))
      }
      return sum / Double(m)
    }
    let l1 = term.metric == "l1"
    for e in 0..<(m * k) {
      let d = Double(f[e]) - Double(t[e])
      if l1 {
        sum += abs(d)
        g[e] = Float(weight * (d > 0 ? 1 : (d < 0 ? -1 : 0)) / count)
      } else {
        sum += d * d
        g[e] = Float(weight * 2 * d / count)
      }
    }
    return sum / count
  }

  /// Derivative terms on the output jet `out` of a one-output model; adds weight * the
  /// adjoint into `gradient` (zeroed by the caller, same layout as `out`).
  static func derivatives(
    _ term: LossTerm, _ out: UnsafePointer<Float>, _ targets: UnsafePointer<Float>?,
    shape: JetShape, weight: Double, gradient g: UnsafeMutablePointer<Float>
  ) -> Double {
    let (m, dims) = (shape.rows, shape.directions)
    @inline(__always) func first(_ d: Int, _ r: Int) -> Int { (1 + d) * m + r }
    @inline(__always) func second(_ d: Int, _ r: Int) -> Int { (1 + dims + d) * m + r }
    let scale = weight / Double(m)
    var sum: Double = 0
    switch term.kind {
    case .eikonal:
      for r in 0..<m {
        var s: Double = 0
        for d in 0..<dims { s += Double(out[first(d, r)]) * Double(out[first(d, r)]) }
        let norm = s.squareRoot()
        sum += (norm - 1) * (norm - 1)
        // |grad f| = 0 has no direction; its gradient is taken as 0 there.
        guard norm > 0 else { continue }
        let factor = scale * 2 * (norm - 1) / norm
        for d in 0..<dims { g[first(d, r)] = Float(factor * Double(out[first(d, r)])) }
      }
    case .normal where term.metric == "cosine":
      let n = targets!
      for r in 0..<m {
        var s: Double = 0
        var dot: Double = 0
        for d in 0..<dims {
          let v = Double(out[first(d, r)])
          s += v * v
          dot += v * Double(n[r * dims + d])
        }
        let norm = s.squareRoot()
        guard norm > 0 else {
          sum += 1
          continue
        }
        let cosine = dot / norm
        sum += 1 - cosine
        for d in 0..<dims {
          let v = Double(out[first(d, r)])
          let dcos = Double(n[r * dims + d]) / norm - cosine * v / s
          g[first(d, r)] = Float(-scale * dcos)
        }
      }
    case .normal, .gradient:
      let n = targets!
      for r in 0..<m {
        for d in 0..<dims {
          let diff = Double(out[first(d, r)]) - Double(n[r * dims + d])
          sum += diff * diff
          g[first(d, r)] = Float(scale * 2 * diff / Double(dims))
        }
      }
      sum /= Double(dims)
    case .laplacian:
      let rhs = targets!
      let (a, b, c) = (term.a, term.b, term.c)
      let secondOrder = shape.order == 2
      for r in 0..<m {
        var residual = a * Double(out[r]) - Double(rhs[r])
        for d in 0..<dims {
          residual += b[d] * Double(out[first(d, r)])
          if secondOrder { residual += c * Double(out[second(d, r)]) }
        }
        sum += residual * residual
        let factor = scale * 2 * residual
        g[r] = Float(factor * a)
        for d in 0..<dims {
          g[first(d, r)] = Float(factor * b[d])
          if secondOrder { g[second(d, r)] = Float(factor * c) }
        }
      }
    case .value, .boundary:
      preconditionFailure("value terms take the ordinary passes")
    }
    return sum / Double(m)
  }
}

/// What steps on loss terms reuse: the jet workspace, each term's batch and the
/// permutations batches are drawn from.
final class TermScratch {
  let jets = JetWorkspace()
  let gradients = GradientPassWorkspace()
  /// A first-order output jet and its adjoint, for terms taking the gradient pass.
  var jetOut: [Float] = []
  var jetAdjoint: [Float] = []
  /// This step's value terms that ride along in another term's gradient pass
  /// (`Trainer.riderPlan`), and the losses they got there.
  var riders: [(term: Int, host: Int)] = []
  var riderLosses: [Double] = []

  /// Grows `jetOut` and `jetAdjoint` to at least `count` floats.
  func reserveJetRows(_ count: Int) {
    if jetOut.count < count {
      jetOut = [Float](repeating: 0, count: count)
      jetAdjoint = [Float](repeating: 0, count: count)
    }
  }
  /// Per term: its point order (a permutation, partly reshuffled each step) and the rows
  /// drawn for the current step.
  private var orders: [[Int]] = []
  private var batchPoints: [[Float]] = []
  private var batchTargets: [[Float]] = []
  private var drawn: [Bool] = []

  /// Draws this step's batch of every term with a `batchSize` below its point count: the
  /// first `batchSize` entries of a partial Fisher-Yates shuffle of 0..<n.
  func drawBatches(_ terms: LossTerms, rng: inout RandomSource) {
    let k = terms.terms.count
    if orders.count != k {
      orders = Array(repeating: [], count: k)
      batchPoints = Array(repeating: [], count: k)
      batchTargets = Array(repeating: [], count: k)
      drawn = Array(repeating: false, count: k)
    }
    for (t, term) in terms.terms.enumerated() {
      let (n, b) = (term.count, term.batchSize)
      drawn[t] = b > 0 && b < n
      guard drawn[t] else { continue }
      // From the identity every step, so a draw depends on the generator alone and a
      // trainer resumed from its saved state (`saveState`) draws the same batches.
      if orders[t].count != n { orders[t] = Array(0..<n) }
      orders[t].withUnsafeMutableBufferPointer { order in
        for i in 0..<n { order[i] = i }
        for i in 0..<b {
          let j = i + Int(rng.next() % UInt64(n - i))
          order.swapAt(i, j)
        }
      }
      let din = terms.inputDim
      let cols = n > 0 ? term.targets.count / n : 0
      if batchPoints[t].count != b * din { batchPoints[t] = [Float](repeating: 0, count: b * din) }
      if batchTargets[t].count != b * cols {
        batchTargets[t] = [Float](repeating: 0, count: b * cols)
      }
      // Through buffers: element writes into the nested arrays checked uniqueness each time
      // (12% of a tri-plane point-cloud fit, bench/NOTES.md).
      let order = orders[t]
      batchPoints[t].withUnsafeMutableBufferPointer { bp in
        term.points.withUnsafeBufferPointer { p in
          for i in 0..<b {
            let src = order[i]
            for c in 0..<din { bp[i * din + c] = p[src * din + c] }
          }
        }
      }
      batchTargets[t].withUnsafeMutableBufferPointer { bt in
        term.targets.withUnsafeBufferPointer { q in
          for i in 0..<b {
            let src = order[i]
            for c in 0..<cols { bt[i * cols + c] = q[src * cols + c] }
          }
        }
      }
    }
  }

  /// Runs `body` on term `t`'s rows for this step: its drawn batch, or all its points.
  func withBatch<R>(
    _ t: Int, of term: LossTerm, inputDim: Int,
    _ body: (UnsafePointer<Float>, UnsafePointer<Float>?, Int) -> R
  ) -> R {
    let useBatch = drawn[t]
    let points = useBatch ? batchPoints[t] : term.points
    let targets = useBatch ? batchTargets[t] : term.targets
    let m = useBatch ? term.batchSize : term.count
    return points.withUnsafeBufferPointer { p in
      targets.withUnsafeBufferPointer { q in body(p.baseAddress!, q.baseAddress, m) }
    }
  }
}
