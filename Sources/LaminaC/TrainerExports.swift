// Exports: trainers.
import CLaminaABI
import Lamina

@_cdecl("lamina_trainer_create")
public func laminaTrainerCreate(
  _ model: OpaquePointer?, _ config: UnsafePointer<CChar>?,
  _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> lamina_status {
  guarded {
    let f = "lamina_trainer_create"
    let out = try require(out, "out", in: f)
    out.pointee = nil
    let m = try Handles.object(model, as: Model.self, "model", in: f)
    try beginReading(m, in: f)
    defer { m.useGuard.endShared() }
    let text = config == nil ? "{}" : try string(config, "config_json", in: f)
    out.pointee = Handles.retain(try Trainer(model: m, json: text))
  }
}

@_cdecl("lamina_trainer_free")
public func laminaTrainerFree(_ trainer: OpaquePointer?) {
  Handles.release(trainer, as: Trainer.self)
}

@_cdecl("lamina_trainer_config")
public func laminaTrainerConfig(
  _ trainer: OpaquePointer?, _ buf: UnsafeMutablePointer<CChar>?, _ cap: Int,
  _ len: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: "lamina_trainer_config")
    try copyOut(t.config.json.text, buf, cap, len, in: "lamina_trainer_config")
  }
}

@_cdecl("lamina_trainer_step")
public func laminaTrainerStep(
  _ trainer: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafePointer<Float>?, _ n: Int,
  _ loss: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_trainer_step"
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: f)
    try beginChanging(t.model, in: f)
    defer { t.model.useGuard.endExclusive() }
    let n = try sampleCount(n, in: f)
    let l = try t.step(try require(x, "x", in: f), try require(y, "y", in: f), count: n)
    loss?.pointee = l
  }
}

@_cdecl("lamina_trainer_evaluate")
public func laminaTrainerEvaluate(
  _ trainer: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafePointer<Float>?, _ n: Int,
  _ loss: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_trainer_evaluate"
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: f)
    try beginChanging(t.model, in: f)
    defer { t.model.useGuard.endExclusive() }
    let n = try sampleCount(n, in: f)
    let l = try t.evaluate(try require(x, "x", in: f), try require(y, "y", in: f), count: n)
    loss?.pointee = l
  }
}

/// The engine's progress closure for a C callback (nil for NULL): it fills a
/// `lamina_progress` and goes on while the callback returns 0.
func progressCallback(_ progress: lamina_progress_fn?, _ userData: UnsafeMutableRawPointer?)
  -> ((TrainingProgress) -> Bool)?
{
  guard let progress else { return nil }
  return { info in report(info, to: progress, userData) }
}

@_cdecl("lamina_trainer_fit")
public func laminaTrainerFit(
  _ trainer: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafePointer<Float>?, _ n: Int,
  _ progress: lamina_progress_fn?, _ userData: UnsafeMutableRawPointer?,
  _ finalLoss: UnsafeMutablePointer<Float>?
) -> lamina_status {
  guarded {
    let f = "lamina_trainer_fit"
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: f)
    try beginChanging(t.model, in: f)
    defer { t.model.useGuard.endExclusive() }
    let xs = try require(x, "x", in: f)
    let ys = try require(y, "y", in: f)
    var callback: ((TrainingProgress) -> Bool)? = nil
    // The loss the callback was last told: what *final_loss receives if it cancels the fit.
    var reported = Float.nan
    if let progress {
      callback = { info in
        reported = info.loss
        return report(info, to: progress, userData)
      }
    }
    do {
      // Not `finalLoss?.pointee = try t.fit(...)`: with final_loss NULL that would not train.
      let l = try t.fit(xs, ys, count: try sampleCount(n, in: f), progress: callback)
      finalLoss?.pointee = l
    } catch let e as LaminaError where e.code == .cancelled {
      finalLoss?.pointee = reported
      throw e
    }
  }
}

/// Calls a C progress callback with `info`; true to go on (the callback returned 0).
func report(
  _ info: TrainingProgress, to progress: lamina_progress_fn, _ userData: UnsafeMutableRawPointer?
) -> Bool {
  var p = lamina_progress(
    step: info.step, steps: info.steps, epoch: info.epoch, epochs: info.epochs,
    loss: info.loss, validation_loss: info.validationLoss, elapsed_seconds: info.elapsedSeconds)
  return progress(&p, userData) == 0
}

@_cdecl("lamina_trainer_kan_fit")
public func laminaTrainerKanFit(
  _ trainer: OpaquePointer?, _ x: UnsafePointer<Float>?, _ y: UnsafePointer<Float>?, _ n: Int,
  _ testX: UnsafePointer<Float>?, _ testY: UnsafePointer<Float>?, _ testN: Int,
  _ optionsJSON: UnsafePointer<CChar>?, _ progress: lamina_progress_fn?,
  _ userData: UnsafeMutableRawPointer?, _ trainLoss: UnsafeMutablePointer<Float>?,
  _ testLoss: UnsafeMutablePointer<Float>?, _ reg: UnsafeMutablePointer<Float>?, _ cap: Int,
  _ stepsDone: UnsafeMutablePointer<Int>?
) -> lamina_status {
  guarded {
    let f = "lamina_trainer_kan_fit"
    stepsDone?.pointee = 0
    let t = try Handles.object(trainer, as: Trainer.self, "trainer", in: f)
    let text = optionsJSON == nil ? "{}" : try string(optionsJSON, "options_json", in: f)
    let options = try KANFitOptions(json: JSONValue.parse(text, what: "kan fit options"))
    if trainLoss != nil || testLoss != nil || reg != nil {
      guard capacity(cap) >= options.steps else {
        throw LaminaError(
          .invalidArgument,
          "\(f): cap \(cap) is smaller than the \(options.steps) steps of the options")
      }
    }
    try beginChanging(t.model, in: f)
    defer { t.model.useGuard.endExclusive() }
    let xs = try require(x, "x", in: f)
    let ys = try require(y, "y", in: f)
    let count = try sampleCount(n, in: f)
    let testCount = try sampleCount(testN, in: f)
    let tx = testCount > 0 ? try require(testX, "test_x", in: f) : nil
    let ty = testCount > 0 ? try require(testY, "test_y", in: f) : nil
    // Each step's record is written out as it completes, so a run that fails or is
    // cancelled leaves the steps it did.
    try t.kanFit(
      xs, ys, count: count, testX: tx, testY: ty, testCount: testCount, options: options
    ) { info, history in
      let s = history.count - 1
      trainLoss?[s] = history.trainLoss[s]
      testLoss?[s] = history.testLoss[s]
      reg?[s] = history.reg[s]
      stepsDone?.pointee = history.count
      guard let progress else { return true }
      return report(info, to: progress, userData)
    }
  }
}
