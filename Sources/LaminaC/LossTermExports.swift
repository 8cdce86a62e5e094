// Exports: loss terms (losses on values and on derivatives of the output), their training
// steps, and the input derivatives of a model.
import CLaminaABI
import Lamina

/// Starts a use of `terms` by `function` (exclusive when `changing`), or throws when an
/// overlapping call holds them.
private func beginUsing(_ terms: LossTerms, changing: Bool, in function: String) throws {
  let ok = changing ? terms.useGuard.beginExclusive() : terms.useGuard.beginShared()
  guard ok else {
    throw LaminaError(
      .invalidArgument,
      "\(function): terms are in use by another call (lamina_loss_terms_set_points must not "
        + "overlap any other call on the same terms)")
  }
}

@_cdecl("lamina_loss_terms_create")
public func laminaLossTermsCreate(
  _ model: OpaquePointer?, _ termsJSON: UnsafePointer<CChar>?,
  _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_loss_terms_create"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    let text = try string(termsJSON, "terms_json", in: f)
    let terms = try named(f) {
      try LossTerms(json: text, inputDim: m.inputDim, outputDim: m.outputDim)
    }
    out.pointee = Handles.retain(terms)
  }
}

@_cdecl("lamina_loss_terms_free")
public func laminaLossTermsFree(_ terms: OpaquePointer?) {
  Handles.release(terms, as: LossTerms.self)
}

@_cdecl("lamina_loss_terms_count")
public func laminaLossTermsCount(_ terms: OpaquePointer?) -> Int {
  guard let terms else { return 0 }
  // The number of terms is fixed when they are made, so this needs no use guard.
  return Unmanaged<LossTerms>.fromOpaque(UnsafeRawPointer(terms)).takeUnretainedValue().termCount
}

@_cdecl("lamina_loss_terms_config")
public func laminaLossTermsConfig(
  _ terms: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_loss_terms_config"
    let t = try Handles.object(terms, as: LossTerms.self, "terms", in: f)
    try beginUsing(t, changing: false, in: f)
    defer { t.useGuard.endShared() }
    try copyOut(t.json.text, buf, cap, len, in: f)
  }
}

@_cdecl("lamina_loss_terms_set_points")
public func laminaLossTermsSetPoints(
  _ terms: OpaquePointer?, _ index: Int, _ x: UnsafePointer<Float>?, _ n: Int,
  _ targets: UnsafePointer<Float>?, _ targetCount: Int
) -> lamina_status {
  guarded {
    let f = "lamina_loss_terms_set_points"
    let t = try Handles.object(terms, as: LossTerms.self, "terms", in: f)
    try beginUsing(t, changing: true, in: f)
    defer { t.useGuard.endExclusive() }
    let n = try sampleCount(n, in: f)
    // A count past Int.max arrives negative: never the right count, a shape error.
    guard targetCount >= 0 else {
      throw LaminaError(.shape, "\(f): target_count \(UInt(bitPattern: targetCount)) is too large")
    }
    let count = targetCount
    guard index >= 0 else { throw LaminaError(.invalidArgument, "\(f): index is out of range") }
    let xs = try require(x, "x", in: f)
    try named(f) { try t.setPoints(index, xs, count: n, targets: targets, targetCount: count) }
  }
}

@_cdecl("lamina_trainer_step_terms")
public func laminaTrainerStepTerms(
  _ trainer: OpaquePointer?, _ terms: OpaquePointer?, _ termLosses: UnsafeMutablePointer<Float>?,
  _ cap: Int, _ loss: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_trainer_step_terms"
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: f)
    let lt = try Handles.object(terms, as: LossTerms.self, "terms", in: f)
    if termLosses != nil && capacity(cap) < lt.terms.count {
      throw LaminaError(
        .invalidArgument, "\(f): cap \(cap) is smaller than the \(lt.terms.count) terms")
    }
    try beginChanging(t.model, in: f)
    defer { t.model.useGuard.endExclusive() }
    try beginUsing(lt, changing: false, in: f)
    defer { lt.useGuard.endShared() }
    let r = try t.stepTerms(lt)
    loss?.pointee = r.total
    if let termLosses { termLosses.update(from: r.terms, count: r.terms.count) }
  }
}

@_cdecl("lamina_trainer_fit_terms")
public func laminaTrainerFitTerms(
  _ trainer: OpaquePointer?, _ terms: OpaquePointer?, _ steps: Int,
  _ optionsJSON: UnsafePointer<CChar>?, _ progress: lamina_progress_fn?,
  _ userData: UnsafeMutableRawPointer?,
  _ history: UnsafeMutablePointer<Float>?, _ cap: Int, _ stepsDone: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_trainer_fit_terms"
    stepsDone?.pointee = 0
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: f)
    let lt = try Handles.object(terms, as: LossTerms.self, "terms", in: f)
    guard steps > 0 else { throw LaminaError(.invalidArgument, "\(f): steps must be at least 1") }
    let text = optionsJSON == nil ? "{}" : try string(optionsJSON, "options_json", in: f)
    let options = try named(f) {
      try TermFitOptions(json: JSONValue.parse(text, what: "fit_terms options"))
    }
    let row = lt.terms.count + 1
    try checkHistoryCapacity(history, cap, steps: steps, row: row, shape: "(terms + 1)", in: f)
    try beginChanging(t.model, in: f)
    defer { t.model.useGuard.endExclusive() }
    try beginUsing(lt, changing: false, in: f)
    defer { lt.useGuard.endShared() }
    // Each step's losses are written as it completes: a run that fails or is cancelled
    // leaves the steps it did.
    _ = try t.fitTerms(
      lt, steps: steps, options: options,
      each: { s, total, losses in
        if let history {
          history[(s - 1) * row] = total
          for (i, l) in losses.enumerated() { history[(s - 1) * row + 1 + i] = l }
        }
        stepsDone?.pointee = s
      }, progress: progressCallback(progress, userData))
  }
}

@_cdecl("lamina_model_input_derivatives")
public func laminaModelInputDerivatives(
  _ model: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: Int, _ y: UnsafeMutablePointer<Float>?,
  _ dydx: UnsafeMutablePointer<Float>?, _ d2ydx2: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_model_input_derivatives"
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    guard y != nil || dydx != nil || d2ydx2 != nil else {
      throw LaminaError(
        .invalidArgument, "\(f): y, dydx and d2ydx2 are all NULL: nothing to compute")
    }
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let n = try sampleCount(n, in: f)
    if n == 0 { return }
    try named(f) {
      try m.inputDerivatives(
        try require(x, "x", in: f), count: n, values: y, jacobian: dydx, secondDerivatives: d2ydx2)
    }
  }
}
