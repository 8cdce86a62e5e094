/// How L-BFGS picks the length of each move along its search direction.
public enum LineSearch: String, CaseIterable, Sendable {
  /// PyTorch's `line_search_fn="strong_wolfe"`: bracketing plus cubic-interpolation zoom
  /// until the strong Wolfe conditions hold (c1 = 1e-4, c2 = 0.9).
  case strongWolfe = "strong_wolfe"
  /// PyTorch's `line_search_fn=None`: a fixed move of `learning_rate` times the direction.
  case none
}

/// Limited-memory BFGS with PyTorch's semantics (`torch.optim.LBFGS`, which pykan's `fit`
/// uses with `line_search_fn="strong_wolfe"`).
///
/// One `step` runs up to `maxIter` iterations on the same batch, re-evaluating the loss and
/// gradient through the closure it is given. The memory (last `historySize` curvature
/// pairs, the last direction and step) carries over from one step to the next, as in
/// PyTorch. Vectors are float32 like the parameters; the scalar state of the line search is
/// double, which PyTorch keeps partly in float32 (the cause of last-digit differences).
///
/// Memory: (2 historySize + 11) floats per parameter scalar.
///
/// Deviations from PyTorch, all in cases where it fails: a trial point of the strong-Wolfe
/// search whose loss or gradient is not finite (its evaluation throws `.numeric`, say an
/// exp edge overflowing far along the direction) counts as a point of infinite loss, too
/// high, so the search brackets and zooms back toward the last finite point, by bisection
/// (a cubic through an infinite value is meaningless), and never ends on it; a non-finite
/// loss or gradient anywhere else in a step (its starting point, the move of
/// `line_search` "none") or a non-finite direction restores the weights from before the
/// step, clears the memory and throws `.numeric` (PyTorch carries on with NaN); a cubic
/// interpolation that would divide by zero bisects its interval instead; a step whose
/// learning rate is 0 only evaluates the loss (PyTorch's line search divides by zero there).
final class LBFGS {
  /// Iterations per step (PyTorch `max_iter`).
  let maxIter: Int
  /// Loss evaluations per step (PyTorch `max_eval`, `max_iter * 5 / 4`).
  let maxEval: Int
  /// Curvature pairs kept (PyTorch `history_size`).
  let historySize: Int
  /// A step ends when every gradient element is at most this in magnitude.
  let toleranceGrad: Double
  /// A step ends when the loss or the weights change by less than this.
  let toleranceChange: Double
  /// A curvature pair is remembered only when y . s exceeds this (PyTorch: 1e-10).
  let toleranceYs: Double
  let lineSearch: LineSearch
  let parameters: [Parameter]
  /// Scalars over all parameters (the length of every flat vector).
  let count: Int

  /// Iterations over the optimizer's life (PyTorch `state["n_iter"]`); 0 means the next
  /// iteration starts afresh with steepest descent.
  var iterations = 0
  /// Loss evaluations over the optimizer's life (PyTorch `state["func_evals"]`).
  var evaluations = 0

  // Memory carried from step to step (PyTorch's `state`); internal so that a trainer state
  // (`TrainerState.swift`) can save and restore it. `alpha` and the scratch below are
  // written before they are read in every step, so a state does not save them.
  var direction: [Float]
  var stepLength: Double = 0
  var hessianDiagonal: Double = 1
  var previousGradient: [Float]
  var previousLoss: Double = 0
  /// Gradient differences y and moves s, oldest first, and 1 / (y . s).
  var dirs: [[Float]] = []
  var stps: [[Float]] = []
  var rho: [Double] = []
  private var alpha: [Double] = []

  // Scratch, allocated once: nothing is allocated per iteration once the history is full.
  private var gradient: [Float]
  private var stepStart: [Float]
  private var searchStart: [Float]
  private var newGradient: [Float]
  private var priorGradient: [Float]
  private var bracketGradient0: [Float]
  private var bracketGradient1: [Float]
  private var yScratch: [Float]
  private var sScratch: [Float]

  /// Wolfe constants and the bracket tolerance of PyTorch's `_strong_wolfe`, which LBFGS
  /// calls without passing its own `tolerance_change`, so it is always 1e-9.
  private let c1 = 1e-4
  private let c2 = 0.9
  private let bracketTolerance = 1e-9

  /// Throws `.outOfMemory` when the memory of `historySize` pairs for `parameters` scalars,
  /// (2 historySize + 11) floats per scalar, would exceed `Limits.maxLBFGSScalars`.
  static func checkMemory(historySize: Int, parameters: Int) throws {
    let (total, overflow) = (2 * historySize + 11).multipliedReportingOverflow(by: parameters)
    guard !overflow, total <= Limits.maxLBFGSScalars else {
      throw LaminaError(
        .outOfMemory,
        "trainer config: lbfgs with \"history_size\" \(historySize) would keep (2 x \(historySize) "
          + "+ 11) x \(parameters) floats for this model's \(parameters) parameters, over the limit "
          + "of \(Limits.maxLBFGSScalars); history_size may be at most "
          + "\(max(0, (Limits.maxLBFGSScalars / max(1, parameters) - 11) / 2))")
    }
  }

  init(config: TrainerConfig, parameters: [Parameter]) {
    maxIter = config.maxIter
    maxEval = config.maxIter * 5 / 4
    historySize = config.historySize
    toleranceGrad = config.toleranceGrad
    toleranceChange = config.toleranceChange
    toleranceYs = config.toleranceYs
    lineSearch = config.lineSearch
    self.parameters = parameters
    count = parameters.reduce(0) { $0 + $1.count }
    let zeros = [Float](repeating: 0, count: count)
    direction = zeros
    previousGradient = zeros
    gradient = zeros
    stepStart = zeros
    searchStart = zeros
    newGradient = zeros
    priorGradient = zeros
    bracketGradient0 = zeros
    bracketGradient1 = zeros
    yScratch = zeros
    sScratch = zeros
  }

  /// Forgets the curvature memory: the next iteration is steepest descent.
  func reset() {
    iterations = 0
    hessianDiagonal = 1
    dirs.removeAll(keepingCapacity: true)
    stps.removeAll(keepingCapacity: true)
    rho.removeAll(keepingCapacity: true)
  }

  // MARK: - Flat vectors over all parameters

  /// Copies every parameter's gradient into `flat`.
  private func gatherGradient(into flat: inout [Float]) {
    flat.withUnsafeMutableBufferPointer { f in
      var offset = 0
      for p in parameters {
        p.gradient.withUnsafeBufferPointer { g in
          (f.baseAddress! + offset).update(from: g.baseAddress!, count: g.count)
        }
        offset += p.count
      }
    }
  }

  /// Copies every parameter's value into `flat`.
  private func gatherValues(into flat: inout [Float]) {
    flat.withUnsafeMutableBufferPointer { f in
      var offset = 0
      for p in parameters {
        p.value.withUnsafeBufferPointer { v in
          (f.baseAddress! + offset).update(from: v.baseAddress!, count: v.count)
        }
        offset += p.count
      }
    }
  }

  /// Sets every parameter's value from `flat`.
  private func scatterValues(_ flat: [Float]) {
    flat.withUnsafeBufferPointer { f in
      var offset = 0
      for p in parameters {
        p.value.withUnsafeMutableBufferPointer { v in
          v.baseAddress!.update(from: f.baseAddress! + offset, count: v.count)
        }
        offset += p.count
      }
    }
  }

  /// Parameters += t * d (PyTorch `_add_grad`): the same float32 arithmetic for the trial
  /// points of the line search and the final move, so the weights kept are exactly the
  /// weights whose loss was measured.
  private func addToValues(_ t: Double, _ d: [Float]) {
    let s = Float(t)
    d.withUnsafeBufferPointer { db in
      let dp = db.baseAddress!
      var offset = 0
      for p in parameters {
        p.value.withUnsafeMutableBufferPointer { v in
          let w = v.baseAddress!
          for i in 0..<v.count { w[i] += s * dp[offset + i] }
        }
        offset += p.count
      }
    }
  }

  /// dst = src (same length).
  private static func copy(_ src: [Float], into dst: inout [Float]) {
    src.withUnsafeBufferPointer { sb in
      dst.withUnsafeMutableBufferPointer { db in
        db.baseAddress!.update(from: sb.baseAddress!, count: sb.count)
      }
    }
  }

  /// a . b, accumulated in double.
  private static func dot(_ a: [Float], _ b: [Float]) -> Double {
    b.withUnsafeBufferPointer { bb in dot(a, bb.baseAddress!, bb.count) }
  }

  /// max |a_i| (PyTorch `abs().max()`).
  private static func maxAbs(_ a: [Float]) -> Double {
    a.withUnsafeBufferPointer { ab in
      var m: Float = 0
      for v in ab { m = max(m, abs(v)) }
      return Double(m)
    }
  }

  /// sum |a_i|, accumulated in double.
  private static func sumAbs(_ a: [Float]) -> Double {
    a.withUnsafeBufferPointer { ab in
      var s: Double = 0
      for v in ab { s += Double(abs(v)) }
      return s
    }
  }

  // MARK: - The step

  /// One L-BFGS step (PyTorch `LBFGS.step(closure)`). `evaluate` computes the loss at the
  /// parameters' current values and writes their gradients, throwing `.numeric` when either
  /// is not finite. Returns the loss before the step. On any error the weights are restored
  /// to their values before the step and the memory is cleared.
  func step(learningRate lr: Double, evaluate: () throws -> Float) throws -> Float {
    gatherValues(into: &stepStart)
    do {
      return try run(lr, evaluate)
    } catch {
      scatterValues(stepStart)
      reset()
      throw error
    }
  }

  private func run(_ lr: Double, _ evaluate: () throws -> Float) throws -> Float {
    let originalLoss = try evaluate()
    var loss = Double(originalLoss)
    var currentEvals = 1
    evaluations += 1
    gatherGradient(into: &gradient)
    var optimal = LBFGS.maxAbs(gradient) <= toleranceGrad
    if optimal || lr <= 0 { return originalLoss }

    var n = 0
    while n < maxIter {
      n += 1
      iterations += 1

      // Search direction.
      if iterations == 1 {
        reset()
        iterations = 1
        direction.withUnsafeMutableBufferPointer { db in
          gradient.withUnsafeBufferPointer { gb in
            for i in 0..<gb.count { db[i] = -gb[i] }
          }
        }
      } else {
        try updateDirection()
      }
      LBFGS.copy(gradient, into: &previousGradient)
      previousLoss = loss

      // Step length: the first iteration ever is scaled so the move is at most lr in L1.
      var t = iterations == 1 ? min(1, 1 / LBFGS.sumAbs(gradient)) * lr : lr
      let gtd = LBFGS.dot(gradient, direction)
      guard gtd.isFinite else {
        throw LaminaError.numeric(
          "training diverged: the L-BFGS direction is not finite; weights left as before the step")
      }
      if gtd > -toleranceChange {
        stepLength = t
        break
      }

      var searchEvals = 0
      switch lineSearch {
      case .strongWolfe:
        gatherValues(into: &searchStart)
        let found = try strongWolfe(
          t: t, f: loss, gtd: gtd, maxSearch: maxEval - currentEvals, evaluate: evaluate)
        loss = found.loss
        t = found.t
        searchEvals = found.evaluations
        addToValues(t, direction)
        optimal = LBFGS.maxAbs(gradient) <= toleranceGrad
      case .none:
        addToValues(t, direction)
        if n != maxIter {
          // PyTorch skips this evaluation on the last iteration: in a stochastic setting the
          // next step evaluates a new batch anyway.
          loss = Double(try evaluate())
          gatherGradient(into: &gradient)
          optimal = LBFGS.maxAbs(gradient) <= toleranceGrad
          searchEvals = 1
        }
      }
      stepLength = t
      currentEvals += searchEvals
      evaluations += searchEvals

      if n == maxIter || currentEvals >= maxEval || optimal { break }
      if LBFGS.maxAbs(direction) * abs(t) <= toleranceChange { break }
      if abs(loss - previousLoss) < toleranceChange { break }
    }
    return originalLoss
  }

  /// Records the newest curvature pair (when it has positive curvature) and sets
  /// `direction` to minus the two-loop L-BFGS product of the inverse Hessian and gradient.
  private func updateDirection() throws {
    let n = count
    let tf = Float(stepLength)
    var ys: Double = 0
    var yy: Double = 0
    gradient.withUnsafeBufferPointer { gb in
      previousGradient.withUnsafeBufferPointer { pb in
        direction.withUnsafeBufferPointer { db in
          yScratch.withUnsafeMutableBufferPointer { yb in
            sScratch.withUnsafeMutableBufferPointer { sb in
              let (g, pg, d, y, s) = (
                gb.baseAddress!, pb.baseAddress!, db.baseAddress!, yb.baseAddress!, sb.baseAddress!
              )
              for i in 0..<n {
                y[i] = g[i] - pg[i]
                s[i] = d[i] * tf
                ys += Double(y[i]) * Double(s[i])
                yy += Double(y[i]) * Double(y[i])
              }
            }
          }
        }
      }
    }
    if ys > toleranceYs {
      var recycledY: [Float]? = nil
      var recycledS: [Float]? = nil
      if dirs.count == historySize {
        recycledY = dirs.removeFirst()
        recycledS = stps.removeFirst()
        rho.removeFirst()
      }
      dirs.append(yScratch)
      stps.append(sScratch)
      rho.append(1 / ys)
      hessianDiagonal = ys / yy
      yScratch = recycledY ?? [Float](repeating: 0, count: n)
      sScratch = recycledS ?? [Float](repeating: 0, count: n)
    }
    if alpha.count < dirs.count { alpha = [Double](repeating: 0, count: historySize) }

    let h = Float(hessianDiagonal)
    var finite = true
    direction.withUnsafeMutableBufferPointer { db in
      let q = db.baseAddress!
      gradient.withUnsafeBufferPointer { gb in
        for i in 0..<n { q[i] = -gb[i] }
      }
      // Newest to oldest: a_k = rho_k s_k.q, q -= a_k y_k.
      for k in stride(from: dirs.count - 1, through: 0, by: -1) {
        let a = LBFGS.dot(stps[k], UnsafePointer(q), n) * rho[k]
        alpha[k] = a
        LBFGS.axpy(Float(-a), dirs[k], q, n)
      }
      // r = H0 q, then oldest to newest: b_k = rho_k y_k.r, r += (a_k - b_k) s_k.
      for i in 0..<n { q[i] *= h }
      for k in 0..<dirs.count {
        let b = LBFGS.dot(dirs[k], UnsafePointer(q), n) * rho[k]
        LBFGS.axpy(Float(alpha[k] - b), stps[k], q, n)
      }
      for i in 0..<n where !q[i].isFinite { finite = false }
    }
    guard finite else {
      throw LaminaError.numeric(
        "training diverged: the L-BFGS direction is not finite; weights left as before the step")
    }
  }

  /// a . b in double, `b` given as a pointer (it is being updated in place by the caller).
  private static func dot(_ a: [Float], _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    a.withUnsafeBufferPointer { ab in
      let p = ab.baseAddress!
      var s: Double = 0
      for i in 0..<n { s += Double(p[i]) * Double(b[i]) }
      return s
    }
  }

  /// y += a x.
  private static func axpy(_ a: Float, _ x: [Float], _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    x.withUnsafeBufferPointer { xb in
      let p = xb.baseAddress!
      for i in 0..<n { y[i] += a * p[i] }
    }
  }

  // MARK: - Strong-Wolfe line search

  /// Loss and gradient (into `newGradient`) at `searchStart + t * direction`; the weights
  /// are back at `searchStart` afterwards (PyTorch `_directional_evaluate`). A point whose
  /// evaluation throws `.numeric` (a non-finite loss or gradient), or gives a non-finite
  /// loss or slope, is (+inf, NaN): too high for every test of the search, which then
  /// bisects toward its finite end and never chooses it (`newGradient` is then unspecified).
  private func evaluate(at t: Double, _ evaluate: () throws -> Float) throws -> (
    f: Double, gtd: Double
  ) {
    addToValues(t, direction)
    let f: Double
    do {
      f = Double(try evaluate())
    } catch let error as LaminaError where error.code == .numeric {
      scatterValues(searchStart)
      return (.infinity, .nan)
    }
    gatherGradient(into: &newGradient)
    scatterValues(searchStart)
    let gtd = LBFGS.dot(newGradient, direction)
    guard f.isFinite, gtd.isFinite else { return (.infinity, .nan) }
    return (f, gtd)
  }

  /// The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped
  /// to `bounds` (by default the interval between the points); the midpoint when the cubic
  /// has no minimum (PyTorch `_cubic_interpolate`, from minFunc's polyinterp).
  static func cubicInterpolate(
    _ x1: Double, _ f1: Double, _ g1: Double, _ x2: Double, _ f2: Double, _ g2: Double,
    bounds: (Double, Double)? = nil
  ) -> Double {
    let (lo, hi) = bounds ?? (x1 <= x2 ? (x1, x2) : (x2, x1))
    // A non-finite end (a trial point that overflowed: +inf loss, NaN slope) gives no
    // cubic: bisect.
    guard x1.isFinite, f1.isFinite, g1.isFinite, x2.isFinite, f2.isFinite, g2.isFinite else {
      return (lo + hi) / 2
    }
    let d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    let d2Square = d1 * d1 - g1 * g2
    if d2Square >= 0 {
      let d2 = d2Square.squareRoot()
      let minPos =
        x1 <= x2
        ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
      // PyTorch divides by zero (x1 == x2, or a degenerate cubic) and goes on with NaN;
      // bisecting keeps the search finite.
      if minPos.isFinite { return min(max(minPos, lo), hi) }
    }
    return (lo + hi) / 2
  }

  /// PyTorch's `_strong_wolfe` (from minFunc's WolfeLineSearch, as torch/optim's
  /// lswolfe.lua): brackets a step satisfying the strong Wolfe conditions, then zooms in by
  /// safeguarded cubic interpolation. On return `gradient` holds the gradient at the chosen
  /// step; the weights are still at `searchStart`.
  private func strongWolfe(
    t initialT: Double, f: Double, gtd: Double, maxSearch: Int, evaluate closure: () throws -> Float
  ) throws -> (loss: Double, t: Double, evaluations: Int) {
    let dNorm = LBFGS.maxAbs(direction)
    var t = initialT
    var (fNew, gtdNew) = try evaluate(at: t, closure)
    var evals = 1

    // Bracket phase. Slot 0/1 of the bracket; `gradient` is the gradient at t = 0.
    var tPrev: Double = 0
    var fPrev = f
    var gtdPrev = gtd
    LBFGS.copy(gradient, into: &priorGradient)
    var bracket: (Double, Double) = (0, 0)
    var bracketF: (Double, Double) = (0, 0)
    var bracketGtd: (Double, Double) = (0, 0)
    var single = false
    var done = false
    var iter = 0
    var bracketed = false
    while iter < maxSearch {
      // In PyTorch's order: too high (or rising) brackets [tPrev, t]; the strong Wolfe
      // conditions end the search at t; an upward slope brackets [tPrev, t] too.
      let tooHigh = fNew > f + c1 * t * gtd || (iter > 1 && fNew >= fPrev)
      let wolfe = !tooHigh && abs(gtdNew) <= -c2 * gtd
      if tooHigh || (!wolfe && gtdNew >= 0) {
        bracket = (tPrev, t)
        bracketF = (fPrev, fNew)
        bracketGtd = (gtdPrev, gtdNew)
        LBFGS.copy(priorGradient, into: &bracketGradient0)
        LBFGS.copy(newGradient, into: &bracketGradient1)
        bracketed = true
        break
      }
      if wolfe {
        bracket = (t, t)
        bracketF = (fNew, fNew)
        LBFGS.copy(newGradient, into: &bracketGradient0)
        single = true
        done = true
        bracketed = true
        break
      }
      // Still descending at t: extrapolate, between 1.01 t and 10 t.
      let minStep = t + 0.01 * (t - tPrev)
      let maxStep = t * 10
      let old = t
      t = LBFGS.cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, bounds: (minStep, maxStep))
      tPrev = old
      fPrev = fNew
      gtdPrev = gtdNew
      LBFGS.copy(newGradient, into: &priorGradient)
      (fNew, gtdNew) = try evaluate(at: t, closure)
      evals += 1
      iter += 1
    }
    if !bracketed {
      // Out of evaluations while still extrapolating (PyTorch: `ls_iter == max_ls`).
      bracket = (0, t)
      bracketF = (f, fNew)
      LBFGS.copy(gradient, into: &bracketGradient0)
      LBFGS.copy(newGradient, into: &bracketGradient1)
    }

    // Zoom phase.
    var insufficientProgress = false
    var low = single || bracketF.0 <= bracketF.1 ? 0 : 1
    while !done && iter < maxSearch {
      if abs(bracket.1 - bracket.0) * dNorm < bracketTolerance { break }
      t = LBFGS.cubicInterpolate(
        bracket.0, bracketF.0, bracketGtd.0, bracket.1, bracketF.1, bracketGtd.1)
      // Keep trial points away from the bracket's ends: an interpolant that lands within
      // 10% of an end twice running (or outside) is moved to 10% inside it.
      let hiEnd = max(bracket.0, bracket.1)
      let loEnd = min(bracket.0, bracket.1)
      let eps = 0.1 * (hiEnd - loEnd)
      if min(hiEnd - t, t - loEnd) < eps {
        if insufficientProgress || t >= hiEnd || t <= loEnd {
          t = abs(t - hiEnd) < abs(t - loEnd) ? hiEnd - eps : loEnd + eps
          insufficientProgress = false
        } else {
          insufficientProgress = true
        }
      } else {
        insufficientProgress = false
      }

      (fNew, gtdNew) = try evaluate(at: t, closure)
      evals += 1
      iter += 1

      let high = 1 - low
      let fLow = low == 0 ? bracketF.0 : bracketF.1
      if fNew > f + c1 * t * gtd || fNew >= fLow {
        // Sufficient decrease fails, or no better than the low end: t becomes the high end.
        setBracket(high, t: t, f: fNew, gtd: gtdNew, &bracket, &bracketF, &bracketGtd)
        copyBracketGradient(to: high, from: newGradient)
        low = bracketF.0 <= bracketF.1 ? 0 : 1
      } else {
        if abs(gtdNew) <= -c2 * gtd {
          done = true
        } else {
          let tHigh = high == 0 ? bracket.0 : bracket.1
          let tLow = low == 0 ? bracket.0 : bracket.1
          if gtdNew * (tHigh - tLow) >= 0 {
            // The old low end becomes the high end.
            let fl = low == 0 ? bracketF.0 : bracketF.1
            let gl = low == 0 ? bracketGtd.0 : bracketGtd.1
            setBracket(high, t: tLow, f: fl, gtd: gl, &bracket, &bracketF, &bracketGtd)
            if high == 0 {
              LBFGS.copy(bracketGradient1, into: &bracketGradient0)
            } else {
              LBFGS.copy(bracketGradient0, into: &bracketGradient1)
            }
          }
        }
        // t becomes the low end.
        setBracket(low, t: t, f: fNew, gtd: gtdNew, &bracket, &bracketF, &bracketGtd)
        copyBracketGradient(to: low, from: newGradient)
      }
    }

    let chosen = low == 0 ? bracket.0 : bracket.1
    let chosenF = low == 0 ? bracketF.0 : bracketF.1
    if low == 0 {
      LBFGS.copy(bracketGradient0, into: &gradient)
    } else {
      LBFGS.copy(bracketGradient1, into: &gradient)
    }
    return (chosenF, chosen, evals)
  }

  /// The strong-Wolfe search alone, from the parameters' current values along `d`, where
  /// the loss is `f` and the gradient `g`, with first trial `t`: what tests compare with
  /// PyTorch's `_strong_wolfe`. Leaves the parameters where they were.
  func searchLine(
    along d: [Float], f: Double, gradient g: [Float], t: Double, maxSearch: Int,
    evaluate: () throws -> Float
  ) throws -> (loss: Double, t: Double, evaluations: Int, gradient: [Float]) {
    LBFGS.copy(d, into: &direction)
    LBFGS.copy(g, into: &gradient)
    gatherValues(into: &searchStart)
    let found = try strongWolfe(
      t: t, f: f, gtd: LBFGS.dot(g, d), maxSearch: maxSearch, evaluate: evaluate)
    return (found.loss, found.t, found.evaluations, gradient)
  }

  private func setBracket(
    _ slot: Int, t: Double, f: Double, gtd: Double, _ bracket: inout (Double, Double),
    _ bracketF: inout (Double, Double), _ bracketGtd: inout (Double, Double)
  ) {
    if slot == 0 {
      (bracket.0, bracketF.0, bracketGtd.0) = (t, f, gtd)
    } else {
      (bracket.1, bracketF.1, bracketGtd.1) = (t, f, gtd)
    }
  }

  private func copyBracketGradient(to slot: Int, from source: [Float]) {
    if slot == 0 {
      LBFGS.copy(source, into: &bracketGradient0)
    } else {
      LBFGS.copy(source, into: &bracketGradient1)
    }
  }
}
